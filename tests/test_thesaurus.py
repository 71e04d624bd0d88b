"""The thesaurus: everyday wordings of a question → the documents' own terms, searched too."""
from __future__ import annotations

import pytest

from search.cli import main
from search.config import DEFAULT_THESAURUS, Settings
from search.engine import Engine
from search.errors import ThesaurusError
from search.thesaurus import Thesaurus, parse_thesaurus
from search.tokenizer import normalize

SAMPLE = """# a comment
碳捕集及利用, 碳捕集利用与封存 = 二氧化碳回收, CCUS
双随机、一公开 = 随机抽查
包干制 =
"""


@pytest.fixture(scope="module")
def sample() -> Thesaurus:
    return Thesaurus(parse_thesaurus(SAMPLE))


def test_lines_give_the_documents_terms_and_the_other_wordings():
    concepts = parse_thesaurus(SAMPLE)
    assert [c.terms for c in concepts] == [("碳捕集及利用", "碳捕集利用与封存"), ("双随机、一公开",), ("包干制",)]
    assert concepts[0].wordings == ("二氧化碳回收", "CCUS")
    assert concepts[2].wordings == ()


@pytest.mark.parametrize("line", ["只有左边", "= 没有左边", " , = 空"])
def test_a_malformed_line_is_refused_with_its_number(line):
    with pytest.raises(ThesaurusError, match="line 2"):
        parse_thesaurus("# ok\n" + line)


def test_a_wording_expands_to_the_documents_terms(sample):
    assert sample.expand("钢厂的二氧化碳回收有什么项目") == ["碳捕集及利用", "碳捕集利用与封存"]
    assert sample.expand("ccus项目")  # matched after normalisation (case, full width)
    # All the words of a wording, in another order.
    assert sample.expand("怎样回收二氧化碳") == ["碳捕集及利用", "碳捕集利用与封存"]


def test_terms_already_in_the_query_are_not_added(sample):
    assert sample.expand("碳捕集及利用有哪些项目") == ["碳捕集利用与封存"]
    assert sample.expand("包干制") == []
    assert sample.expand("页岩气开发") == []


def test_a_query_in_the_searched_documents_own_wording_is_not_expanded(sample):
    scope = normalize("推进碳捕集利用与封存示范。开展二氧化碳回收试验。")
    assert sample.expand("碳捕集利用与封存", scope=scope) == []  # the documents' term
    assert sample.expand("二氧化碳回收", scope=scope) == []  # a wording these documents use
    # Documents that write neither: the other terms of the concept are searched too.
    assert sample.expand("碳捕集利用与封存", scope=normalize("碳捕集及利用")) == ["碳捕集及利用"]
    assert sample.expand("二氧化碳回收", scope="") == ["碳捕集及利用", "碳捕集利用与封存"]


def test_the_names_of_a_concept_include_those_of_concepts_sharing_a_wording():
    thesaurus = Thesaurus(parse_thesaurus("研发投入强度 = 研发强度, 研发占比\n"
                                          "全社会研发投入(R&D)占GDP比重 = 研发强度, 研发占比\n"
                                          "包干制 = 经费包干, 研发强度\n"))
    names = thesaurus.names("南川的研发投入强度目标是多少")
    assert {"研发投入强度", "研发强度", normalize("全社会研发投入(R&D)占GDP比重")} <= names
    assert "包干制" not in names  # one shared name is no second line of the concept
    assert thesaurus.names("页岩气开发") == frozenset()


def test_every_term_of_the_packaged_thesaurus_is_in_the_corpus(keyword_engine):
    """Expanding to a term no passage contains would only cost time: the left side must
    be the documents' own wording."""
    corpus = keyword_engine.corpus
    text = normalize("\n".join(" ".join((p.text, *p.heading_path)) for p in corpus.passages))
    concepts = Thesaurus.load(DEFAULT_THESAURUS).concepts
    assert len(concepts) > 500
    assert [t for c in concepts for t in c.terms if normalize(t) not in text] == []


def test_hybrid_search_finds_the_documents_term_for_an_everyday_wording(engine):
    question = "把实验室成果放大生产前的试验"  # the plans say 中试, 中试基地, 中试熟化
    result = engine.search(question, mode="hybrid", k=3)
    assert "中试" in result.expansions
    # The first and most of the best: an excerpt of 北碚's paragraph on 科技成果转化 (lab
    # results into products, the concept around 中试) may rank among them too.
    assert "中试" in result.hits[0].passage.text
    assert sum("中试" in hit.passage.text for hit in result.hits) >= 2
    assert any("<mark>中试" in hit.highlight for hit in result.hits)
    assert engine.search(question, mode="hybrid", k=3, expand=False).expansions == []


def test_a_question_about_one_district_is_not_expanded_to_other_districts_terms(engine):
    """涪陵's plan has no 鸿雁计划 (a programme of other districts): searching for it would
    put other districts' passages first."""
    assert "鸿雁计划" in engine.thesaurus.expand("怎么吸引海外人才？")
    result = engine.search("涪陵打算怎么吸引海外人才？", k=5)
    assert "鸿雁计划" not in result.expansions
    assert result.hits[0].document.district == "涪陵"


def test_keyword_mode_searches_the_words_as_typed(engine):
    question = "把实验室成果放大生产前的试验"
    assert engine.search(question, mode="keyword").expansions == []
    for mode in ("hybrid", "semantic"):
        assert "中试" in engine.search(question, mode=mode).expansions
        assert engine.search(question, mode=mode, expand=False).expansions == []


def test_semantic_mode_reads_an_everyday_wording_with_the_documents_term(engine):
    """The models alone miss 綦江's mutual recognition of 科技创新券 for a "service voucher"."""
    question = "外区发放的科技服务券在本区也能使用"
    # On the first page: 6th (3rd before long passages were read in excerpts too, which
    # lifted two paragraphs on 科技服务 above it).
    result = engine.search(question, mode="semantic", k=10)
    assert "科技创新券" in result.expansions
    assert any("创新券互认" in hit.passage.text for hit in result.hits)


def test_a_quotation_is_not_expanded_in_semantic_mode(engine):
    quotation = "按照“谁主办、谁发布、谁审核、谁负责”的原则"
    assert engine.search(quotation, mode="semantic").expansions == []


@pytest.mark.parametrize("query", ["榨菜", "慧谷湖科创小镇", "技术合同成交额"])
def test_the_documents_own_wording_is_searched_as_written(engine, query):
    """慧谷湖科创小镇 is 涪陵's science town: other districts' science towns are other places."""
    assert engine.search(query, mode="hybrid").expansions == []


def test_a_comparison_finds_each_districts_own_term_for_an_indicator(engine):
    """北碚 writes 技术合同成交额, 涪陵 技术合同交易额 and 技术合同成交金额 for the same indicator."""
    assert engine.expansions("技术合同成交额", "北碚") == []
    assert {"技术合同交易额", "技术合同成交金额"} <= set(engine.expansions("技术合同成交额", "涪陵"))
    result = engine.search("北碚和涪陵到2025年技术合同成交额分别要达到多少", k=10)
    assert "技术合同交易额" in result.expansions
    fuling = [hit.passage.text for hit in result.hits if hit.document.district == "涪陵"]
    assert any("技术合同交易额" in text or "技术合同成交金额" in text for text in fuling)


def test_a_quotation_is_searched_as_written(engine):
    quote = "推动食品合成生物学、食品大数据、食品感知科学、智能装备制造等研究成果嫁接榨菜产业"
    assert engine.thesaurus.expand(quote)  # it mentions a concept of the thesaurus...
    result = engine.search(quote, mode="hybrid", k=3)
    assert result.expansions == []  # ...but it is a quotation of a passage
    assert quote in result.hits[0].passage.text


def test_the_thesaurus_can_be_switched_off_or_replaced(settings, tmp_path):
    off = Engine.open(settings.with_(thesaurus="none"))
    assert off.thesaurus is None and off.health()["thesaurus_concepts"] == 0
    assert off.search("榨菜", mode="hybrid").expansions == []
    own = tmp_path / "thesaurus.txt"
    own.write_text("涪陵榨菜 = 咸菜\n", encoding="utf-8")
    assert Engine.open(settings.with_(thesaurus=str(own))).search("咸菜", k=3).expansions == ["涪陵榨菜"]


def test_a_missing_or_broken_thesaurus_is_named(settings, tmp_path):
    with pytest.raises(ThesaurusError, match="nowhere.txt"):
        Engine.open(settings.with_(thesaurus=str(tmp_path / "nowhere.txt")))
    broken = tmp_path / "broken.txt"
    broken.write_text("没有等号的一行\n", encoding="utf-8")
    with pytest.raises(ThesaurusError, match="broken.txt, line 1"):
        Engine.open(settings.with_(thesaurus=str(broken)))


def test_the_api_reports_and_switches_the_expansions(client):
    body = client.get("/api/search?q=科研经费打包交给项目负责人自主支配").get_json()
    assert body["expansions"] == ["包干制"]
    assert client.get("/api/search?q=科研经费打包交给项目负责人自主支配&expand=0").get_json()["expansions"] == []
    bad = client.get("/api/search?q=榨菜&expand=maybe")
    assert bad.status_code == 400 and "expand" in bad.get_json()["error"]["message"]
    assert client.get("/api/health").get_json()["thesaurus_concepts"] > 500


def test_ask_reports_the_terms_searched_too(client):
    body = client.get("/api/ask?q=把实验室成果放大生产前的试验").get_json()
    assert "中试" in body["expansions"]
    assert "同时查找了文件用语" in client.get("/search?q=把实验室成果放大生产前的试验&mode=ask").get_data(as_text=True)


def test_the_cli_says_which_terms_it_searched_too(settings, capsys):
    assert main(["query", "把实验室成果放大生产前的试验", "-k", "2", "--index", str(settings.index_dir)]) == 0
    out = capsys.readouterr().out
    assert "also searched (thesaurus): " in out and "中试" in out


def test_the_search_page_shows_the_terms_searched_too(client):
    page = client.get("/search?q=科研经费打包交给项目负责人自主支配").get_data(as_text=True)
    assert "同时查找了文件用语" in page and "<mark>包干制</mark>" in page and "expand=0" in page
    plain = client.get("/search?q=科研经费打包交给项目负责人自主支配&expand=0").get_data(as_text=True)
    assert "只查了输入的词" in plain and "同时查找了文件用语" not in plain


def test_settings_read_the_thesaurus_from_the_environment(monkeypatch):
    monkeypatch.setenv("PLANSEARCH_THESAURUS", "none")
    assert Settings().thesaurus == "none"
