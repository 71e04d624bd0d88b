"""Question answering over the ranked passages: the answering sentence, table values, refusal.

A passage answers with its sentence closest to the question (embedding similarity plus
the question's words it contains); a table row answers with the value of the column
the question asks about ("2025年：200家"). Whether the corpus answers at all is a
calibrated confidence from how much of the question the best passages cover (its words,
the years and places it names, the kind of figure it asks for), so questions about 上海,
个人所得税 or a rent the plans never state are refused instead of being answered with
weak matches.
"""
from __future__ import annotations

import functools
import html
import math
import re
from typing import TYPE_CHECKING

import numpy as np

from .excerpts import split_sentences
from .sources import KNOWN_DISTRICTS
from .targets import indicator_match
from .tokenizer import COMPARISON, QUESTION_WORDS, normalize_simplified, part_of_speech, tokenize

if TYPE_CHECKING:
    from .engine import AskResult, Engine
    from .model import Hit, Passage

YEAR = re.compile(r"(19|20)\d{2}")
# Questions whose answer is a figure, and what that figure looks like in an answer:
# 多少家 wants "200家", 比例 a percentage, 哪一年 a year, 多少钱 an amount in 元, a phone
# number its digits, an address a street number and 在哪里 a place.
ASKED_FIGURES: list[tuple[re.Pattern, re.Pattern]] = [
    (re.compile(r"电话|联系方式|热线"), re.compile(r"\d{3,4}-\d{7,8}|\d{7,12}")),
    (re.compile(r"地址|门牌|哪条[路街]"), re.compile(r"[路街道巷]\s*\d+\s*号")),
    # Where (在哪里, 设在哪, not 在哪些项目上, 在哪一年 or 归在哪方面): where the plans say where a thing
    # is, they say 布局在, 位于, 设在 or 在…园区.
    (re.compile(r"在哪[里儿]|在哪(?![些个一年天位家条种方类项级])|什么地方|哪个地方|位于哪|设在哪|建在哪|布局在哪"),
     re.compile(r"布局在|位于|坐落|(?<!建)设在|建在|落户|选址|[路街巷]\s*\d+\s*号|"
                r"(?:依托|在)(?!全国|全市|全区|国内|国际|西部|成渝|行业)[^，。；]{1,20}"
                r"(?:园区|高新区|组团|基地|委员会|委|局|中心|大楼|大厦|镇|街道|片区|新城|科学城|校区|社区)")),
    (re.compile(r"比例|比重|百分之|占比|(?<![效功频])率|增速|投入强度"), re.compile(r"\d\s*[%％]")),
    # 哪年几月 asks for the month too: 到2025年 does not say when in 2025.
    (re.compile(r"几月|哪个?月"), re.compile(r"\d{1,2}\s*月")),
    (re.compile(r"哪一?年|什么时候|何时|哪天"), re.compile(r"(19|20)\d{2}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日")),
    (re.compile(r"多少钱|多少[万亿]?元|金额|(租金|工资|补贴|补助|奖励|津贴)[^。？]{0,5}多少(?![十百千万亿]*[家个人项名所件次套座台条])|多少[^，。？]{0,4}(租金|补贴|补助|奖励)"),
     re.compile(r"\d\s*[万亿]?元")),
    # 几个 opening a clause is "several" (几个园区改成…), not "how many" (建了几个, 是几个).
    (re.compile(r"多少|(?<=[^\s，。；、,;:：！？哪])几[个家项名所件人次]"), re.compile(r"\d")),
]
# A question asking how (怎样, 如何) asks for a figure only in so many words (多少, 哪一年, 在哪).
HOW = re.compile(r"怎样|怎么|如何|哪些(?:措施|举措|办法)|什么(?:措施|举措|办法)")
ASKS_FIGURE = re.compile(r"多少|几|哪一?年|何时|什么时候|在哪|哪里|什么地方|电话|地址")
# A question asking who (局长是谁, 由谁担任) or for a name (局长叫什么名字) is answered by a
# sentence naming the role asked; 谁主办、谁负责 in a quotation asks nothing.
WHO = re.compile(r"(?:是|由|为)(?:谁|哪一?位)|叫什么名字|(?:姓名|名字|名称)是什么")
# A list's numbering (3.涉及…, （二）…) is no figure.
LIST_NUMBER = re.compile(r"^[\s\-—·•]*[（(]?[\d一二三四五六七八九十]{1,3}[)）.．、]")
COVERAGE_HITS = 3  # the best answers, whose words and specifics the confidence weighs
FIGURE_HITS = 5  # the answers searched for the figure asked (the default page of answers)
# The answers among which those giving the figure asked come first: a plan's indicator row
# is often ranked just below the prose around it.
REORDERED_HITS = 10
# A sentence away from the best one answers a figure question when it shares this much
# with the question (see _sentence_scores: two of its words, or one and two character pairs).
FIGURE_SENTENCE_SCORE = 4
SUBJECT_TERMS = 2  # one rare word may be the question's own phrasing (争创), two rarely are
# 多少家, 多少万人, 几个: the unit a count is asked in.
COUNTED = re.compile(r"(?:多少|(?<=[^\s，。；、,;:：！？])几)[十百千万亿]*(家|个|人次|人|项|件|名|所|次|亩|吨|平方米|公里|台|套|座|条)")
# Units the plans use for one another: 研发机构 are counted in 个, asked about in 家.
# 个 is the general classifier: 几个国家级项目 is answered by a count in 项, and people are
# counted in 个 when spoken of (多少个硕士博士: 硕博士10人以上).
SAME_UNIT = {unit: group for group in (("家", "个", "所"), ("人", "名", "人次")) for unit in group} | {
    "个": ("个", "家", "所", "项", "件", "座", "台", "套", "条", "人", "名")}
TARGET_WORD = re.compile(r"(?:目标|指标|预期)值?|达到")
UNIT_WORD = re.compile(r"[十百千万亿]*(?:元|美元|个|家|件|人|项|名|所|次|亩|吨|平方米|公里)")
UNIT_IN_NAME = re.compile(r"[（(]([^（）()]{1,6})[）)]\s*$")
# Logistic confidence over the features of AnswerFinder.features: fitted on the
# project's labelled cases by bench/calibrate_confidence.py (answerable vs negative).
# When fitted, on bench/cases.jsonl (then 132 answerable, 20 negative) the cut at 0.4 accepts 95% of
# answerable questions and refuses 70% of negatives. A refit after the features last
# changed did no better there, weighed words found nowhere in the corpus less and then
# answered 上海's 个人所得税 with 涪陵's plan, so these weights stay.
# e5's similarity is near 0.9 for answerable and unanswerable questions alike, so its
# weight is near zero.
CONFIDENCE_WEIGHTS = (-0.07, 1.46, 3.49, -2.08, -3.95)
CONFIDENCE_BIAS = -3.0
ANSWERABLE_AT = 0.4
# Places a question may ask about: the districts, and the provinces and major cities the
# plans mention or users compare with. A question about a place is answered only by a
# passage about that place.
OTHER_PLACES = ("北京", "上海", "天津", "重庆", "四川", "成都", "绵阳", "贵州", "遵义", "广东", "深圳", "广州", "江苏",
                "浙江", "杭州", "湖北", "武汉", "陕西", "西安", "云南", "湖南", "长沙", "中关村", "雄安")
PLACE = re.compile("|".join(KNOWN_DISTRICTS + OTHER_PLACES))
# The city the districts are part of, and the prefix of a district's full name (重庆市南川区).
CITY = "重庆"
DISTRICT_NAME = re.compile(rf"{CITY}市?(?=(?:{'|'.join(KNOWN_DISTRICTS)}))")
# The plans name a province by its cities or its one-character name (渝黔合作, 贵阳、遵义):
# a passage about those is about the province a question names.
PLACE_ALIASES = {
    CITY: ("全市",),  # the plans' words for the whole city
    "贵州": ("渝黔", "贵阳", "遵义", "贵安", "桐梓", "习水", "毕节", "六盘水", "安顺"),
    "成都": ("成渝",),
    "绵阳": ("绵碚",),  # 北碚's plan: 绵碚合作, 绵碚两地
    "四川": ("川渝", "成渝", "成都", "绵阳", "自贡", "泸州", "宜宾", "内江", "德阳", "广安", "达州", "遂宁"),
    "广东": ("粤", "深圳", "广州", "东莞", "佛山", "珠海", "大湾区"),
    "江苏": ("苏州", "南京", "无锡"),
    "浙江": ("杭州", "宁波", "温州"),
    "湖北": ("武汉",),
    "陕西": ("西安",),
    "湖南": ("长沙",),
}


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


norm = normalize_simplified


def content_terms(query: str) -> list[str]:
    """The question's words that carry meaning (no question words, punctuation or single characters)."""
    return [t for t in dict.fromkeys(tokenize(query)) if t not in QUESTION_WORDS and len(t) > 1]


def bigrams(text: str) -> set[str]:
    """Character pairs of the Chinese runs of a text, question words excluded."""
    runs = re.findall(r"[\u4e00-\u9fff]+", norm(text))
    return {run[i:i + 2] for run in runs for i in range(len(run) - 1)} - QUESTION_WORDS


def asked_figure(query: str) -> re.Pattern | None:
    """What the figure a question asks for looks like in an answer (see ASKED_FIGURES), or
    None. A count in the unit the question names (多少万人, 多少家) is a number in it: 35件
    is no population."""
    if HOW.search(query) and not ASKS_FIGURE.search(query):
        return None  # 怎样提高…通过率 asks what is done, not the rate
    shape = next((shape for asks, shape in ASKED_FIGURES if asks.search(query)), None)
    counted = COUNTED.search(query)
    if shape is ASKED_FIGURES[-1][1] and counted:
        unit = counted.group(1)
        return re.compile(rf"\d\s*[十百千万亿]*(?:{'|'.join(SAME_UNIT.get(unit, (unit,)))})")
    return shape


# A figure of a named measure is stated with that measure: a mineral-water plant's
# 年产值3亿元 is no 总投资. For each way of asking, the words a statement may use.
MEASURES = {
    "总投资": ("投资",), "投资额": ("投资",), "投资": ("投资",), "年产值": ("产值",), "产值": ("产值",),
    "营业收入": ("收入", "营收"), "营收": ("收入", "营收"), "成交额": ("成交额", "交易额"),
    "交易额": ("成交额", "交易额"), "销售额": ("销售",), "产量": ("产量", "产能"), "面积": ("面积", "平方米", "亩"),
    "利润": ("利润",), "经费": ("经费", "资金"), "预算": ("预算",), "规模": ("规模",),
}
ASKED_MEASURE = re.compile(rf"({'|'.join(sorted(MEASURES, key=len, reverse=True))})"
                           r"[^，。；？?]{0,3}?(?:是|有|为|达到?|要达到|大概|约|了)?多少")


def asked_measure(query: str) -> tuple[str, ...] | None:
    """The words of the measure a question asks the figure of (总投资是多少 → 投资), or None."""
    m = ASKED_MEASURE.search(query)
    return MEASURES[m.group(1)] if m else None


def asked_role(query: str) -> re.Pattern | None:
    """For a question asking who (南川区科技局局长是谁), the role it names (局长), which an
    answer must name too; None for other questions."""
    m = WHO.search(query)
    if m is None:
        return None
    named = [t for t in tokenize(query[:m.start()]) if t not in QUESTION_WORDS and len(t) > 1]
    return re.compile(re.escape(named[-1])) if named else None


def answer_shape(query: str) -> re.Pattern | None:
    """What an answer to ``query`` must contain: the figure it asks for or the role it asks
    about (see asked_figure, asked_role), or None."""
    return asked_figure(query) or asked_role(query)


def gives(shape: re.Pattern, sentence: str) -> bool:
    """Whether ``sentence`` (normalised) holds ``shape``, its list numbering aside."""
    return bool(shape.search(LIST_NUMBER.sub("", sentence)))


def _places(query: str) -> list[str]:
    """The places a question asks about. The city (重庆) is one only when no other place is
    named: 涪陵想成为重庆的什么科创高地 asks about 涪陵, 在四川和重庆之间 about what the
    districts do with 四川, and 重庆市綦江区 is a district's name."""
    places = PLACE.findall(DISTRICT_NAME.sub("", query))
    others = [p for p in places if p != CITY]
    return others or places


# A plan a question names by its owner: 《“十四五”国家科技创新规划》, 成都市科技创新“十四五”规划.
NAMED_PLAN = re.compile(r"《[^》]*》|(?:国家|全国|[\u4e00-\u9fff]{2,3}[市省])[^，。？?！!、《》\s]{0,20}?(?:规划|纲要)")
NATIONAL = ("国家", "全国")


def other_plan(query: str, districts: list[str]) -> str | None:
    """The plan a question asks about when it is none of the districts' own (the national
    plan, 重庆市's, 成都市's): the district plans cite those as their basis but state none of
    their targets. None when the question names no plan, or a district's."""
    for m in NAMED_PLAN.finditer(query):
        name = m.group()
        if not name.endswith(("规划", "纲要", "规划》", "纲要》")):
            continue
        if any(d in name for d in districts):
            return None
        if any(n in name for n in NATIONAL) or PLACE.search(DISTRICT_NAME.sub("", name)):
            return name.strip("《》")
    return None


def _mentions(text: str, place: str) -> bool:
    """Whether ``text`` is about ``place``: names it, or one of its PLACE_ALIASES."""
    return any(name in text for name in (place, *PLACE_ALIASES.get(place, ())))


def _asks_about(term: str) -> bool:
    """Whether a question's word may say what it asks about: not a place (南川), a
    comparison's word (各区, 分别), the kind of figure asked (比例: the plans' row says 之比)
    or that it is a target (目标: 城镇化率目标 asks about 城镇化率, which no plan names)."""
    return (not PLACE.search(term) and not COMPARISON.search(term) and not YEAR.fullmatch(term)
            and not UNIT_WORD.fullmatch(term) and not TARGET_WORD.fullmatch(term)
            and not any(asks.fullmatch(term) for asks, _ in ASKED_FIGURES))


def _names_a_thing(term: str) -> bool:
    """Whether a word may name a thing (上海, 个人所得税, 疫苗) rather than say how a
    question is put (改成, 那样, 放在, 一种): a thing the plans never name is a sign they
    do not answer, a wording they do not use is only a paraphrase."""
    tag = part_of_speech(term)
    return tag is None or not tag.startswith(("v", "r", "m", "d", "p", "c", "u", "s", "q"))


def _is_noun(term: str) -> bool:
    """Whether jieba tags a word as a noun, or does not know it (a compound: 创业导师)."""
    tag = part_of_speech(term)
    return tag is None or tag.startswith("n")


def _figures_first(query: str, hits: list["Hit"], giving: list[bool], wordings: list[str],
                   district: str | None) -> list["Hit"]:
    """``hits`` with the first ones reordered: those ``giving`` the figure asked first (an
    R&D intensity target is a percentage, not the 2000家 of the row ranked first), of the
    ``district`` asked about first. For a
    question naming a year (到2025年…多少家), those of passages naming that year come before
    the past figures of a plan's review, and of those the indicator rows, the one that
    ``wordings`` (the question, the thesaurus's terms) name best first: 市级以上研发机构
    rather than 市级以上新型研发机构 (search.targets.indicator_match)."""
    years = [m.group() for m in YEAR.finditer(query)]

    def order(i: int) -> tuple:
        elsewhere = district is not None and hits[i].document.district != district
        if not years:
            return not giving[i], elsewhere
        passage = hits[i].passage
        dated = any(year in norm(passage.text + "".join(passage.heading_path)) for year in years)
        return not giving[i], elsewhere, not dated, passage.kind != "table_row", -indicator_match(passage, wordings)

    first = sorted(range(len(giving)), key=order)
    return [hits[i] for i in first] + hits[len(giving):]


def _names(text: str, term: str) -> bool:
    """Whether ``text`` names ``term``, or half its character pairs for a longer term: the
    question's 高新区 is the plans' 高新技术产业开发区."""
    if term in text:
        return True
    pairs = {term[i:i + 2] for i in range(len(term) - 1)}
    return len(term) > 2 and 2 * sum(1 for pair in pairs if pair in text) >= len(pairs)


def table_value(passage: "Passage", query: str) -> tuple[str, str] | None:
    """(column, value-with-unit) of the table cell a question asks about, or None."""
    cells = dict(passage.cells)
    unit = cells.get("单位", "")
    if not unit:
        name = next((v for c, v in passage.cells if "指标" in c or "名称" in c), "")
        m = UNIT_IN_NAME.search(name)
        unit = m.group(1) if m else ""
    # A value is a number: 预期值：预期性 says what kind of target a row is, not how much.
    value_columns = [c for c, v in passage.cells
                     if (YEAR.search(c) or any(w in c for w in ("目标", "现状", "预期"))) and re.search(r"\d", v)]
    if not value_columns:
        return None
    years = [m.group() for m in YEAR.finditer(query)]
    wanted = [c for c in value_columns if any(y in c for y in years)]
    if not wanted and any(w in query for w in ("目标", "到2025", "达到", "预计", "规划")):
        wanted = [c for c in value_columns if "目标" in c or "2025" in c]
    if not wanted and any(w in query for w in ("现状", "基期", "目前", "现在", "2020")):
        wanted = [c for c in value_columns if "现状" in c or "2020" in c]
    column = (wanted or value_columns)[-1]
    value = cells[column]
    suffix = unit if unit and unit not in ("%", "—", "-") and not value.endswith(unit) else ("%" if unit == "%" else "")
    return column, value + suffix


class AnswerFinder:
    """Answers questions for an Engine (kept apart so the engine stays a thin facade)."""

    def __init__(self, engine: "Engine"):
        self.engine = engine
        self._passage_texts = [norm(p.text) for p in engine.corpus.passages]
        # Questions repeat their words (南川, 2025年, 高新技术企业); each count scans the corpus.
        self.passages_containing = functools.lru_cache(maxsize=4096)(self._count_passages)

    def answer(self, query: str, k: int, district: str | None, doc: str | None) -> "AskResult":
        from .engine import AskResult

        hits, features, expansions = self.assess(query, k, district, doc)
        confidence = self.confidence(features)
        if confidence >= ANSWERABLE_AT:
            return AskResult(query, True, confidence, hits, expansions=expansions)
        return AskResult(query, False, confidence, [], related=hits, expansions=expansions)

    def assess(self, query: str, k: int, district: str | None = None,
               doc: str | None = None) -> tuple[list["Hit"], list[float], list[str]]:
        """The answers, best first, the features of their confidence (see ``features``) and
        the thesaurus's terms that were searched too."""
        engine = self.engine
        # The passages are those of hybrid search (keyword search without a model); the
        # main model's ranking on its own gives the confidence its similarity feature.
        semantic = engine.similarities(query, k, district, doc)
        ranking = engine.rank(query, "keyword" if semantic is None else "hybrid", k, district, doc)
        hits = self._answers(query, engine._collapse(ranking.ranked)[:max(k, REORDERED_HITS)])
        giving = self._giving(query, hits[:REORDERED_HITS])
        # Only a question the best answers answer (else it is refused); a comparison keeps
        # its districts' turns.
        if any(giving[:FIGURE_HITS]) and not engine.compared_districts(query):
            wordings = [query, *(engine.thesaurus.expand(query) if engine.thesaurus is not None else [])]
            hits = _figures_first(query, hits, giving, wordings, district or engine._district_named(query))
        # Weighed as shown: a target ranked below the 十三五 review's past figure is answered.
        features = self.features(query, hits, semantic)
        return hits[:k], features, ranking.expansions

    def features(self, query: str, hits: list["Hit"], semantic: list[tuple[str, float]] | None) -> list[float]:
        """What the confidence is computed from, given the best answers (hits of ``_answers``).

        - the best semantic similarity (0 without a model: the word features decide);
        - the share of the question's content words found in the best passages (their
          headings included: the passages under 慧谷湖科创小镇 describe it without naming it);
        - whether the specifics the question names (years, places) are in the best passage,
          its headings or its document's title: 綦江's 2022 GDP is not answered by its 2020
          figures, 上海's plan not by 涪陵's. A question comparing districts names several:
          each must be in one of the best passages. A plan other than the districts' own
          (the national one, 重庆市's) must be named beside the best passage's figure;
        - the share of the question's content words found nowhere in the corpus (上海, 个人所得税;
          but paraphrases also use words the plans do not, so this only weighs, never decides);
        - whether a question asking for a figure (多少, 比例, 哪一年, 多少钱) or a person
          (局长是谁) gets no answer with one of that kind in a passage naming what it asks
          about: the plans talk about 人才公寓 but state no rent, and about 加计扣除 but give
          its rate nowhere, while 南川's R&D share of GDP is a rate of something else;
          and they never name 常住人口 (or 公积金, 建筑面积, 利率: a noun of the question that
          no passage contains), so no number of theirs is its figure.
        """
        terms = content_terms(query)
        if not hits or not terms:
            # Nothing found, or nothing asked about (在哪里, 是多少?): no answer.
            return [0.0, 0.0, 0.0, 1.0, 1.0]
        top = hits[:COVERAGE_HITS]
        passages = [hit.passage for hit in top]
        text = "".join(map(self._context, passages))
        coverage = sum(1 for t in terms if t in text) / len(terms)
        candidates = passages if self.engine.compared_districts(query) else passages[:1]
        specifics = [m.group() for m in YEAR.finditer(query)] + _places(query)
        specifics_found = all(any(self._about(p, s) for p in candidates) for s in specifics)
        plan = other_plan(query, self.engine.districts())
        if plan is not None:
            # Only a passage stating that plan's figure, next to its name, answers.
            specifics_found = specifics_found and any(norm(plan) in self._stating(hit) for hit in top[:1])
        unknown = sum(1 for t in terms if not self.passages_containing(t) and _names_a_thing(t)) / len(terms)
        similarity = semantic[0][1] if semantic else 0.0
        # No figure is given for what no passage names at all (南川's 常住人口, 科技馆's
        # 建筑面积), whatever numbers the passages hold. Nouns only: a question's other
        # words the plans do not use (一共, 干什么) are its phrasing.
        unnamed = (not self._subjects(terms) and any(_asks_about(t) for t in terms)) or any(
            _asks_about(t) and _is_noun(t) and not self.passages_containing(t) for t in terms)
        number_missing = answer_shape(query) is not None and (unnamed or not any(self._giving(query, hits[:FIGURE_HITS])))
        return [similarity, coverage, float(specifics_found), unknown, float(number_missing)]

    def _about(self, passage: "Passage", specific: str) -> bool:
        """Whether ``passage`` is about a year or place a question names. The city is named
        in the passage itself (its title's 重庆市南川区 is the district): 重庆市's R&D
        target is not 南川's."""
        if specific == CITY:
            return _mentions(DISTRICT_NAME.sub("", norm(passage.text + "".join(passage.heading_path))), CITY)
        return _mentions(self._context(passage), specific) or specific == self.engine.corpus.documents[
            passage.doc_id].district

    def _context(self, passage: "Passage") -> str:
        """A passage's text with its headings and document title, normalised."""
        return norm(passage.text + "".join(passage.heading_path) + self.engine.corpus.documents[passage.doc_id].title)

    def _giving(self, query: str, hits: list["Hit"]) -> list[bool]:
        """For each answer, whether it gives the figure (or names the role) that ``query``
        asks for, in a passage naming what it asks about: 南川's R&D share of GDP does not
        answer what share of a firm's R&D spending is 加计扣除, and a figure stated of
        another measure (年产值) no 总投资. All False for a question asking for neither."""
        shape = answer_shape(query)
        if shape is None:
            return [False] * len(hits)
        subjects = self._subjects(content_terms(query))
        # A question naming a concept the thesaurus knows (每万名就业人员中研发人员) asks
        # about it: 涪陵's 创业导师100人 names 人员 but is no count of R&D staff.
        concept = self.engine.thesaurus.names(query) if self.engine.thesaurus is not None else frozenset()
        measure = asked_measure(query)
        return [gives(shape, norm(hit.answer or ""))
                and (not subjects or any(_names(self._stating(hit), s) for s in subjects))
                and (not measure or any(word in self._stating(hit) for word in measure))
                and (not concept or any(name in self._context(hit.passage) for name in concept))
                for hit in hits]

    def _stating(self, hit: "Hit") -> str:
        """What a passage says its answer is about, normalised: for a table row, the row in
        its context; for prose, the answering sentence and its neighbours, the passage's
        first sentence (its topic), its headings and its document's title. A figure a few
        sentences away from the words asked about is another thing's: a paragraph opening on
        重庆's 促进科技成果转化24条 that names 科研人员 and 奖励 further on states no figure
        of their 奖励."""
        passage = hit.passage
        spans = split_sentences(passage.text) if passage.kind != "table_row" else []
        at = passage.text.find(hit.answer) if hit.answer else -1
        answering = next((i for i, (a, b) in enumerate(spans) if a <= at < b), None)
        if answering is None:
            return self._context(passage)
        said = {0, answering - 1, answering, answering + 1}
        return norm("".join(passage.text[a:b] for i, (a, b) in enumerate(spans) if i in said)
                    + "".join(passage.heading_path) + self.engine.corpus.documents[passage.doc_id].title)

    def _subjects(self, terms: list[str]) -> list[str]:
        """What a question asks about: the SUBJECT_TERMS of its content words that the fewest
        passages contain (加计扣除 rather than 企业 or 比例), districts and the words of a
        comparison aside; words no passage contains are left to the ``unknown`` feature."""
        counts = {term: self.passages_containing(term) for term in terms if _asks_about(term)}
        return sorted((t for t in counts if counts[t]), key=counts.get)[:SUBJECT_TERMS]

    def _count_passages(self, term: str) -> int:
        """How many passages contain ``term`` (normalised)."""
        return sum(1 for text in self._passage_texts if term in text)

    @staticmethod
    def confidence(features: list[float]) -> float:
        """Probability that the corpus answers the question (see CONFIDENCE_WEIGHTS)."""
        return sigmoid(sum(w * x for w, x in zip(CONFIDENCE_WEIGHTS, features)) + CONFIDENCE_BIAS)

    def _answers(self, query: str, groups: list) -> list["Hit"]:
        passages = [self.engine.passages[pid] for pid, _, _ in groups]
        sentences = [split_sentences(p.text) if p.kind != "table_row" else [] for p in passages]
        scores = self._sentence_scores(query, passages, sentences)
        shape = answer_shape(query)
        hits = []
        for (pid, score, dups), passage, spans, sentence_scores in zip(groups, passages, sentences, scores):
            if passage.kind == "table_row" and (found := table_value(passage, query)):
                column, value = found
                answer = f"{column}：{value}"
                span = _find_cell(passage.text, column, dict(passage.cells)[column])
            elif spans:
                a, b = answering_sentence(passage.text, spans, sentence_scores, shape)
                answer, span = passage.text[a:b].strip(), (a, b)
            else:
                answer, span = passage.text, (0, len(passage.text))
            hits.append(self.engine.hit(pid, score, query, duplicates=dups, answer=answer,
                                        highlight_html=mark_span(passage.text, span)))
        return hits

    @staticmethod
    def _sentence_scores(query: str, passages, sentences) -> list[np.ndarray]:
        """Per passage, a score for each sentence: the question's words and character pairs it shares.

        Embedding every candidate sentence costs ~0.1 s each on two cores; the passage was
        already chosen by meaning, so picking its sentence by shared words is enough.
        """
        terms = content_terms(query)
        pairs = bigrams(query)
        out = []
        for passage, spans in zip(passages, sentences):
            scores = []
            for a, b in spans:
                sentence = norm(passage.text[a:b])
                scores.append(2 * sum(1 for t in terms if t in sentence) + len(pairs & bigrams(sentence)))
            out.append(np.array(scores, dtype=float))
        return out


def answering_sentence(text: str, spans: list[tuple[int, int]], scores: np.ndarray,
                       figure: re.Pattern | None) -> tuple[int, int]:
    """The span of the sentence that answers: the one sharing most with the question, or,
    for a question asking for a figure, when it holds none, its neighbour that holds one
    (a measure is named in one sentence and dated in the next: 力争2023年…) or another
    sentence holding one that shares words with the question (a 专栏 entry describes a
    thing and ends with its targets: 到2025年…转化科技成果50项)."""
    best = int(np.argmax(scores))
    if figure is None or gives(figure, norm(text[slice(*spans[best])])):
        return spans[best]
    holding = [i for i in range(len(spans)) if gives(figure, norm(text[slice(*spans[i])]))]
    near = [i for i in holding if abs(i - best) == 1 or scores[i] >= FIGURE_SENTENCE_SCORE]
    return spans[max(near, key=lambda i: scores[i])] if near else spans[best]


def _find_cell(text: str, column: str, value: str) -> tuple[int, int]:
    needle = f"{column}：{value}"
    start = text.find(needle)
    return (start, start + len(needle)) if start >= 0 else (0, len(text))


def mark_span(text: str, span: tuple[int, int], css_class: str = "answer") -> str:
    """The passage as HTML with one span (an answer, a quotation) in <mark class="…">."""
    a, b = span
    return (html.escape(text[:a]) + f'<mark class="{css_class}">' + html.escape(text[a:b]) + "</mark>"
            + html.escape(text[b:]))
