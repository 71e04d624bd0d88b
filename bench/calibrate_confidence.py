"""Fit the ask-mode confidence (search/answers.py CONFIDENCE_WEIGHTS/BIAS) on labelled cases.

Collects AnswerFinder.features for every case of bench/cases.jsonl (answerable cases vs
negatives), fits a logistic regression and prints the weights to paste into answers.py,
with the leave-one-out accuracy so that over-fitting shows:

    python bench/calibrate_confidence.py [--index DIR] [--cases bench/cases.jsonl]
"""
from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneOut, cross_val_score

from search.config import Settings
from search.engine import Engine
from search.evaluation import load_cases


def case_features(engine: Engine, query: str) -> list[float]:
    return engine.answers.assess(query, 10)[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index directory (default: the configured one)")
    parser.add_argument("--cases", default="bench/cases.jsonl")
    parser.add_argument("--verbose", action="store_true", help="print every case's features")
    args = parser.parse_args(argv)
    engine = Engine.open(Settings().with_(index_dir=args.index))
    cases = load_cases(args.cases)
    rows = [case_features(engine, case["query"]) for case in cases]
    labels = [int(bool(case["gold"])) for case in cases]
    x, y = np.array(rows), np.array(labels)
    if args.verbose:
        for case, row in zip(cases, rows):
            print(f"{'+' if case['gold'] else '-'} {[round(v, 3) for v in row]} {case['query']}")
    model = LogisticRegression(C=10.0, max_iter=1000, class_weight="balanced").fit(x, y)
    loo = cross_val_score(LogisticRegression(C=10.0, max_iter=1000, class_weight="balanced"), x, y, cv=LeaveOneOut()).mean()
    print(f"{len(y)} cases ({int(y.sum())} answerable, {len(y) - int(y.sum())} negative)")
    print(f"CONFIDENCE_WEIGHTS = {tuple(round(float(w), 2) for w in model.coef_[0])}")
    print(f"CONFIDENCE_BIAS = {round(float(model.intercept_[0]), 2)}")
    wrong = [(c["query"], round(float(p), 2)) for c, p, t in zip(cases, model.predict_proba(x)[:, 1], y)
             if (p >= 0.5) != bool(t)]
    print(f"misclassified: {wrong}")
    print(f"training accuracy {model.score(x, y):.3f}, leave-one-out accuracy {loo:.3f}")
    probs = model.predict_proba(x)[:, 1]
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6):
        accepted = float(np.mean(probs[y == 1] >= threshold))
        refused = float(np.mean(probs[y == 0] < threshold))
        print(f"threshold {threshold}: answerable accepted {accepted:.2f}, negatives refused {refused:.2f}")
    for label, name in ((1, "answerable"), (0, "negative")):
        probs = model.predict_proba(x[y == label])[:, 1]
        print(f"{name}: confidence p10 {np.percentile(probs, 10):.2f} median {np.median(probs):.2f} "
              f"p90 {np.percentile(probs, 90):.2f}")


if __name__ == "__main__":
    main()
