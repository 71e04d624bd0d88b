"""Ask mode on the real corpus: answers, and the confidence that decides refusals."""
from __future__ import annotations

import re

import numpy as np
import pytest

from search.answers import (ANSWERABLE_AT, YEAR, _asks_about, _mentions, _names, _places, answering_sentence, asked_figure, asked_measure, asked_role,
                            gives, other_plan, split_sentences, table_value)

figure_wanted = asked_figure


@pytest.mark.parametrize("question, answer, wanted", [
    ("研发投入强度的目标比例是多少？", "全社会研发投入强度超过3%", True),
    ("研发投入强度的目标比例是多少？", "研发投入强度持续提升", False),
    ("南川计划哪一年创建国家高新区？", "力争2026年创建成为国家高新区", True),
    ("人才公寓的租金是多少？", "到2025年建成人才公寓200套", False),  # a figure, but not an amount of money
    ("人才公寓的租金是多少？", "租金每月800元", True),
    ("高新技术企业要达到多少家？", "高新技术企业达到200家", True),
    ("科技局的联系电话是多少？", "联系电话：023-48661234", True),
    ("科技局的联系电话是多少？", "到2025年建成研发平台15个", False),  # a figure, not a phone number
    ("科技局的办公地址在哪里？", "地址：綦江区文龙街道九龙大道18号", True),
    ("科技局的办公地址在哪里？", "布局在工业园区南平组团", False),
    # A list's numbering is no figure.
    ("补贴的标准是多少？", "3.涉及商业秘密、个人隐私等公开后会损害合法权益的政府信息", False),
    ("补贴的标准是多少？", "（二）加强科技金融服务", False),
    ("补贴的标准是多少？", "3.对新认定的企业给予10万元补助", True),
    ("企业所得税的优惠税率是多少？", "减按15%的税率征收", True),
    ("企业所得税的优惠税率是多少？", "惠及约2.5万户", False),
    ("人才公寓在哪条路上？", "位于北泉路88号", True),
    # An R&D intensity is a share of GDP, not a count.
    ("2025年研发投入强度要达到多少？", "研发投入强度达到2.7%", True),
    ("2025年研发投入强度要达到多少？", "2025年目标：2000家", False),
    # Any rate (城镇化率, 转化率) is a percentage; 效率 is not a rate asked for.
    ("城镇化率目标是多少？", "2025年：2800家", False),
    ("科技成果转化率要达到多少？", "转化率达到30%", True),
    # A count in the unit asked; the plans count 研发机构 in 个 where users say 家.
    ("2025年的人口目标是多少万人？", "2025年指标值：35件", False),
    ("2025年的人口目标是多少万人？", "常住人口达到58万人", True),
    ("研发机构要达到多少家？", "市级以上研发机构达到100个", True),
    # 建设在全国有影响力的…基地 says how influential, not where.
    ("科技馆在哪里？", "加快建设在全国有影响力的绿色新材料产业科创基地", False),
    ("科技馆在哪里？", "领导小组办公室设在区农业农村委", True),
    ("科技大市场建在哪里？", "在涪陵高新区核心位置，打造科技孵化与成果转化服务平台", True),
    # 哪年几月 wants the month: the plan's horizon (到2025年) says no month.
    ("高新区是哪年几月获批的？", "到2025年，获批市级以上创新研发平台8个", False),
    ("高新区是哪年几月获批的？", "2022年11月获批", True),
    # 补贴…标准多少 asks for money, a phone number is none; 补贴了多少家 asks for a count.
    ("每次指导有没有劳务补贴，标准多少？", "联系方式:区人力社保局创业指导科 87260841", False),
    ("每次指导有没有劳务补贴，标准多少？", "每次补贴200元", True),
    ("补贴了多少家企业？", "补贴企业30家", True),
    # 个 is the general classifier: projects are counted in 项.
    ("一共实施了几个国家级科技项目？", "累计实施国、市、区科技项目36项", True),
    # …and people, in speech: 几个博士 are counted in 人 in the plans.
    ("研究院要招多少个博士？", "组建包括博士10人以上的研发团队", True),
    ("研究院要招多少个博士？", "总投资10亿元", False),
])
def test_the_kind_of_figure_a_question_asks_for(question, answer, wanted):
    assert gives(figure_wanted(question), answer) is wanted


@pytest.mark.parametrize("question, naming, not_naming", [
    ("南川区科技局局长是谁？", "南川区科技局局长：张明", "南川区科技局负责全区科技创新工作"),
    ("土壤普查领导小组的组长由谁担任？", "由区长任组长", "成立土壤普查领导小组"),
    ("三名航天员分别是谁？", "航天员费俊龙、邓清明、张陆", "神舟十五号发射成功"),
    ("北碚区科技局局长叫什么名字？", "北碚区科技局局长：王明", "北碚区科技局统筹全区科技工作"),
    ("领导小组组长是哪位区领导？", "由区长任组长", "附件:领导小组人员名单(略)"),
])
def test_a_question_asking_who_wants_the_role_it_names(question, naming, not_naming):
    asked = asked_role(question)
    assert gives(asked, naming) and not gives(asked, not_naming)


def test_only_a_question_asking_who_wants_a_role():
    assert asked_role("按照“谁主办、谁负责”的原则") is None  # a quotation asks nothing
    assert asked_role("涪陵打算怎么吸引海外人才？") is None


def test_a_list_question_asks_for_no_figure():
    assert figure_wanted("慧谷湖科创小镇分成哪几个功能区？") is None
    assert figure_wanted("涪陵打算怎么吸引海外人才？") is None
    # 几个 opening a clause is "several"; after a verb it asks how many.
    assert figure_wanted("几个园区改成高新区那样的管理办法，减少管理层级") is None
    assert figure_wanted("涪陵市级以上科技企业孵化器2025年目标是几个？") is not None
    # A how-question asks what is done, unless it asks for a figure in so many words.
    assert figure_wanted("綦江怎样帮企业提高高新技术企业申报的通过率？") is None
    assert figure_wanted("綦江怎样提高研发投入强度，目标是多少？") is not None


def test_the_measure_a_question_asks_the_figure_of():
    assert asked_measure("龙眼山矿泉水厂的总投资是多少亿元？") == ("投资",)
    assert asked_measure("建材基地的年产值能达到多少？") == ("产值",)
    assert "交易额" in asked_measure("北碚技术合同成交额要达到多少？")  # the districts' two words for it
    assert asked_measure("綦江2025年高新技术企业要达到多少家？") is None
    assert asked_measure("投资环境怎么样？") is None  # no figure asked


@pytest.mark.parametrize("question", [
    "涪陵打算怎么吸引海外人才？",
    "綦江2025年高新技术企业要达到多少家？",
    "南川和北碚分别打算怎样发展中医药",  # names two districts: each in one of the best answers
    # 比例 is the kind of figure asked, not what it is of: the row says 之比.
    "綦江规上企业研发投入占营收的比例目标是多少？",
    # 重庆 with a district named is where the district is: the question is about 涪陵.
    "涪陵想成为重庆的什么样的科创高地？",
    # Paraphrases in everyday words the plans do not use (进去, 不让, 那样): how a thing
    # is put, not a thing they never name.
    "旅游景点要搞网上预约，控制进去的人数",
    "搞一种在坡地上好用的种地机器，不让稀泥巴糊在机器零件上",
    "几个园区改成高新区那样的管理办法，减少管理层级，把财权和人事权下放给园区",
    # Its answer says 我区, not “十四五”: the quotation marks only set the name off.
    "北碚“十四五”期间力争培育几家企业上市？",
    # 表里 and 原文 point into the documents: no passage names them, yet they are no subject.
    "涪陵的指标表里，2025年高新技术企业目标是多少家？",
    "北碚规划原文里，技术市场合同成交额2025年要达到多少亿元？",
    "公报里，綦江第三次全国土壤普查的外业采样哪一年完成？",
    # 归在哪方面 asks under which heading, not where a thing is.
    "原文里涪陵的“英才涪卡”行动归在哪方面的改革下面？",
    # The measure asked is the one stated (预计年产值 3 亿元).
    "龙眼山矿泉水厂预计年产值多少亿元？",
])
def test_answerable_questions_are_answered(engine, question):
    result = engine.ask(question)
    assert result.answerable and result.confidence >= ANSWERABLE_AT and result.hits


@pytest.mark.parametrize("question", [
    "上海的个人所得税起征点是多少？",  # a place the plans are not about
    # The city's plan: the districts' plans cite it as their basis but state none of its targets.
    "《重庆市科技创新“十四五”规划》提出全市高新技术企业要达到多少家？",
    # Another district of Chongqing: 綦江's plan names 万盛 only as its partner.
    "万盛经开区“十四五”期间高新技术企业要达到多少家？",
    "涪陵区2023年的地区生产总值是多少亿元？",  # a year the plans do not report on
    "北碚区人才公寓每月的租金是多少？",  # the plans build 人才公寓 but state no rent
    "北碚区的区长是谁？",  # no passage names the 区长
    # The plans mention these (高新技术企业, 技术合同登记) but give the figure asked for
    # nowhere; the figures the best passages do give are of other things.
    "高新技术企业享受的企业所得税优惠税率是多少？",
    "技术合同登记后可以享受多少税收减免？",
    # No passage names 常住人口: the counts of talent its best passage gives are not its figure.
    "南川区的常住人口有多少万人？",
    # The city's target: the districts' plans give their own (南川's 2.5% names no 重庆).
    "重庆市2025年研发投入强度目标是多少？",
    # The plans build 人才公寓 but never say where: no sentence of theirs says 位于, 布局在…
    "南川区的人才公寓位于哪里？",
    # 目标 says it is a target, not what of: no plan names 城镇化率.
    "綦江区2025年的城镇化率目标是多少？",
    # 南川's plan never names 高成长科技企业; its 创新型领军企业 share one name (独角兽)
    # with them in the thesaurus, which is no second line of the concept.
    "南川到2025年高成长科技企业要达到多少家？",
    # 涪陵's plan gives no R&D staff per 10,000 workers (南川's does); its 创业导师100人
    # names 人员 but counts no R&D staff.
    "涪陵区到2025年每万名就业人员中研发人员要达到多少人年？",
    # The plan says 涪陵高新区获批重庆市级高新区 but not when; 到2025年 is no month.
    "涪陵高新区是哪年几月获批市级高新区的？",
    # The notice names the 领导小组 but leaves its members out (名单(略)).
    "綦江第三次全国土壤普查领导小组组长是哪位区领导",
    # The call for 创业导师 gives a phone number and dates, no pay.
    "綦江区征集创业导师志愿者，每次指导有没有劳务补贴，标准多少",
    # No plan names 贴息 or 利率: the percentage of the best passage is another thing's.
    "涪陵对科技型企业贷款贴息的利率是多少？",
    # The plant's output value is stated, not what was invested in it.
    "龙眼山矿泉水厂投资了多少钱？",
    # Nothing asked about at all.
    "在哪里？",
    "是多少？",
])
def test_questions_the_documents_do_not_answer_are_refused(engine, question):
    result = engine.ask(question)
    assert not result.answerable and result.confidence < ANSWERABLE_AT
    assert result.hits == [] and all(h.passage.kind != "sign_off" for h in result.related)


def test_features_name_what_the_best_answers_lack(engine):
    hits, features, _ = engine.answers.assess("北碚区人才公寓每月的租金是多少？", 5)
    similarity, coverage, specifics_found, unknown, figure_missing = features
    assert 0 < similarity <= 1 and specifics_found == 1.0 and figure_missing == 1.0
    _, features, _ = engine.answers.assess("北碚2025年高新技术企业要达到多少家？", 5)
    assert features[2] == 1.0 and features[4] == 0.0
    # Only a place and a word no passage has: nothing names what the figure is of.
    assert engine.answers.assess("南川区的常住人口有多少万人？", 5)[1][4] == 1.0
    assert engine.answers.assess("南川有多少家国家高新技术企业？", 5)[1][4] == 0.0
    # A noun no passage has (利率) names what the figure is of; other words the plans do
    # not use (一共) are how the question is put.
    assert engine.answers.assess("涪陵对科技型企业贷款贴息的利率是多少？", 5)[1][4] == 1.0
    assert engine.answers.assess("北碚十三五期间一共培育了多少家高新技术企业", 5)[1][4] == 0.0


def test_a_figure_is_of_what_its_own_sentences_name(engine):
    # The paragraph opens on 重庆's 促进科技成果转化24条 and names 科研人员 and 奖励 only
    # sentences later: its 24 is no figure of their 奖励.
    passage = next(p for p in engine.corpus.passages if p.text.startswith("深入贯彻落实重庆市“促进科技成果转化24条”"))
    opening = passage.text[:passage.text.index("。") + 1]
    hit = engine.hit(passage.id, 1.0, "成果转化奖励", answer=opening)
    assert "奖励" in engine.answers._context(passage) and "奖励" not in engine.answers._stating(hit)
    assert not engine.ask("科研人员拿到的成果转化奖励，个人所得税能减免多少？").answerable


MEASURE_THEN_YEAR = "创建国家高新区。力争2023年建成。完善配套设施。"


@pytest.mark.parametrize("text, question, scores, expected", [
    (MEASURE_THEN_YEAR, "南川计划哪一年创建国家高新区？", [5, 1, 0], 1),  # the measure, then its year
    (MEASURE_THEN_YEAR, "南川计划怎样创建国家高新区？", [5, 1, 0], 0),  # no figure asked
    ("完善配套设施。力争2023年建成高新区。2030年另有安排。", "高新区哪一年建成？", [0, 5, 1], 1),  # holds it itself
    ("创建国家高新区。完善配套设施。力争2023年建成。", "哪一年创建高新区？", [5, 1, 0], 0),  # two sentences away
    # Further away, but sharing words with the question: a 专栏 entry ends with its targets.
    ("环高校创新生态圈。以学院为主导。聚焦优势产业。到2025年，转化科技成果50项。",
     "生态圈到2025年要转化多少项科技成果？", [6, 0, 1, 5], 3),
])
def test_a_question_asking_for_a_figure_gets_the_neighbouring_sentence_that_holds_it(text, question, scores, expected):
    spans = split_sentences(text)
    assert answering_sentence(text, spans, np.array(scores, float), asked_figure(question)) == spans[expected]


def test_the_answer_to_a_when_question_holds_the_year(engine):
    """南川's plan names the measure (对标国家高新区，全面开启创建工作) and then its year."""
    result = engine.ask("南川区计划哪一年争创国家级高新区？", k=10)
    assert result.answerable
    dated = [hit for hit in result.hits if "对标国家高新区" in hit.passage.text]
    assert dated and YEAR.search(dated[0].answer) and dated[0].answer in dated[0].passage.text


@pytest.mark.parametrize("text, place, mentioned", [
    ("深化渝黔合作先行示范区建设，加强与周边贵阳、遵义等市县合作", "贵州", True),
    ("推动成渝地区双城经济圈建设", "四川", True),
    ("南川区科技创新", "四川", False),  # 川 of 南川 is not 四川
    ("深化与上海的合作", "上海", True),
    ("深化与上海的合作", "北京", False),
    ("推动绵碚合作建设碳中和研究院", "绵阳", True),  # 北碚's plan: 绵阳 and 北碚 together
])
def test_a_province_is_mentioned_by_its_cities(text, place, mentioned):
    assert _mentions(text, place) is mentioned


@pytest.mark.parametrize("question, places", [
    ("重庆市2025年研发投入强度目标是多少？", ["重庆"]),
    ("涪陵想成为重庆的什么样的科创高地？", ["涪陵"]),  # the district asked is in the city
    ("重庆市綦江区城区防洪规划由哪个单位承办", ["綦江"]),  # a district's full name
    ("北碚和四川绵阳在科技方面怎么合作？", ["北碚", "四川", "绵阳"]),
    # Beside another place, 重庆 is one end of a link: 川渝, 成渝 answer it.
    ("科研人员在四川和重庆之间来回工作", ["四川"]),
    ("研发放在成都和重庆主城去做", ["成都"]),
    ("綦江和万盛怎样推进一体化发展？", ["綦江", "万盛"]),  # every district and county of the city
])
def test_the_places_a_question_asks_about(question, places):
    assert _places(question) == places


@pytest.mark.parametrize("question, plan", [
    ("《“十四五”国家科技创新规划》提出研发经费年均增长多少？", "“十四五”国家科技创新规划"),
    ("成都市科技创新“十四五”规划提出高新技术企业要达到多少家", "成都市科技创新“十四五”规划"),
    ("重庆市綦江区城区防洪规划由哪个单位承办", None),  # a district's own
    ("南川区科技创新“十四五”规划提出哪些目标", None),
    ("北碚的规划依据了《成渝地区双城经济圈建设规划纲要》吗？", None),  # no other place's
])
def test_a_plan_other_than_the_districts_own(question, plan):
    assert other_plan(question, ["綦江", "南川", "北碚", "涪陵"]) == plan


def test_a_question_about_a_province_is_answered_by_passages_about_its_cities(engine):
    result = engine.ask("綦江准备和贵州的哪些城市开展合作？")
    assert result.answerable
    assert re.search("贵阳|遵义", result.hits[0].passage.text)


def test_a_longer_term_is_named_by_half_its_character_pairs():
    assert _names("创建国家高新技术产业开发区", "高新区")  # 高新 of 高新, 新区
    assert not _names("创建国家级科技企业孵化器", "高新区")
    assert not _names("研发投入", "扣除") and _names("加计扣除政策", "扣除")


def indicator_row(engine, doc_id: str, indicator: str):
    return next(p for p in engine.corpus.passages
                if p.doc_id == doc_id and p.kind == "table_row" and indicator in p.text)


def test_a_table_row_answers_with_the_value_of_the_year_asked(keyword_engine):
    row = indicator_row(keyword_engine, "qijiang-plan", "规模以上工业企业研发经费支出与营业收入之比")
    # Its last column, 预期值：预期值, is the kind of target, not a value.
    assert table_value(row, "綦江规上工业企业研发经费支出与营业收入之比要达到多少？") == ("2025年", "2.8%")
    assert table_value(row, "2020年是多少？") == ("2020年", "2.33%")
    growth = indicator_row(keyword_engine, "nanchuan-plan", "全社会研发经费投入增长")  # 2020/2025: —
    assert table_value(growth, "南川的全社会研发经费投入增长目标是多少？") is None


@pytest.mark.parametrize("question, figure", [
    # The best-ranked passages talk about the 国家高新区 and about kitchen waste; the ones
    # that date them come first.
    # The 专栏 entry dates the 市级 step (力争2023年…) before the 国家 one (力争2026年…国家高新区);
    # the goals state the 国家 one as 国家高新技术产业开发区.
    ("南川准备在哪一年争创国家高新区？", "力争2026年创建成为国家高"),
    ("厨余垃圾巡查哪一年开始？", "2022年第四季度"),
    # The review of the 十三五 gives 914家; the target for the year asked is the row's.
    ("涪陵到2025年科技型企业要发展到多少家？", "2025年目标：2000家"),
    # Ranked first: the 2020 review's 6.2亿元 and 39%. The row of the target is ranked 6th.
    ("南川到2025年研发投入强度要达到多少？", "2025年目标值：2.5%"),
    # 涪陵's row is named word for word (数字经济增加值占GDP比重) but the question is 綦江's.
    ("綦江2025年数字经济增加值占GDP比重目标", "2025年：≥15%"),
    # Both rows give a 2025 count; the one the question names, not 市级以上新型研发机构 (15个).
    ("涪陵到2025年市级以上研发机构要达到多少个？", "2025年目标：130个"),
    # A sub-row (其中，…) with the unit of the row above: a count in 个, as asked.
    ("涪陵市级以上科技企业孵化器2025年目标是几个？", "2025年目标：5个"),
    # The entry of 专栏1 names the 生态圈 first and gives its targets three sentences on.
    ("环长江师范学院创新生态圈到2025年要转化多少项科技成果？", "转化科技成果50项"),
    ("涪陵“十三五”期间一共实施了几个国家级科技项目？", "科技项目36项"),
])
def test_a_figure_question_is_answered_first_by_an_answer_giving_the_figure(engine, question, figure):
    result = engine.ask(question)
    assert figure in (result.hits or result.related)[0].answer


@pytest.mark.parametrize("question, place", [
    ("南川的数字经济产业园在什么地方？", "布局在工业园区龙岩组团"),
    ("綦江土壤普查领导小组办公室设在哪里？", "设在区农业农村委"),
    ("涪陵区科技大市场建在哪里、主要干什么？", "在涪陵高新区核心位置"),
])
def test_a_where_question_is_answered_by_the_sentence_saying_where(engine, question, place):
    result = engine.ask(question)
    assert result.answerable and place in result.hits[0].answer


@pytest.mark.parametrize("question, asks", [
    ("南川区的人才公寓位于哪里？", True),
    ("涪陵的科创CBD打算建在哪儿？", True),
    ("綦江准备和四川自贡在哪些项目上合作？", False),  # which projects, not where
    ("涪陵区计划在哪一年建成国家创新型城市？", False),  # a year
])
def test_which_questions_ask_where(question, asks):
    shape = figure_wanted(question)
    assert (shape is not None and bool(shape.search("布局在工业园区龙岩组团"))) is asks


def test_a_comparison_asking_for_figures_keeps_its_districts_turns(engine):
    hits = engine.ask("南川和涪陵到2025年技术合同成交额分别要达到多少？").hits
    assert [h.document.district for h in hits[:4]] == ["南川", "涪陵", "南川", "涪陵"]


def test_a_target_is_answered_though_the_search_ranks_the_past_figure_first(engine):
    # Ranked first: the 十三五 table's 2020年指标值：7 (which names no 2025).
    result = engine.ask("北碚到2025年技术合同成交额要达到多少亿元？")
    assert result.answerable and result.hits[0].answer == "2025年指标值：7.5亿元"


@pytest.mark.parametrize("term, about", [
    ("加计扣除", True), ("生产总值", True),
    ("南川", False), ("各区", False), ("2022", False), ("亿元", False), ("比例", False), ("电话", False), ("目标", False),
    ("达到", False),
])
def test_what_a_question_asks_about_is_not_its_place_year_unit_or_kind_of_figure(term, about):
    assert _asks_about(term) is about
