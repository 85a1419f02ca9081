"""Instrument wordings and the safety plan through the Python bindings (issue 4), against the real
library. Run through `scripts/test.sh python`."""

import json

import pytest

from sebaya import (
    Instrument,
    RiskFlag,
    SafetyStep,
    SebayaError,
    Vault,
    generate_master_key,
    localized_message,
    preview_instrument_wording,
    safety_plan_steps,
)

STEPS = [
    "warning-signs",
    "coping-alone",
    "distractions",
    "help-people",
    "professionals",
    "safer-surroundings",
    "what-matters",
]
COUNTS = {"phq9": (9, 4), "gad7": (7, 4), "who5": (5, 6), "srq20": (20, 2)}
# The API takes and returns enums; the ids are what the wording JSON and the plan's JSON hold.
INSTRUMENT = {"phq9": Instrument.PHQ9(), "gad7": Instrument.GAD7(), "who5": Instrument.WHO5(), "srq20": Instrument.SRQ20()}
STEP_ENUMS = [
    SafetyStep.WARNING_SIGNS(),
    SafetyStep.COPING_ALONE(),
    SafetyStep.DISTRACTIONS(),
    SafetyStep.HELP_PEOPLE(),
    SafetyStep.PROFESSIONALS(),
    SafetyStep.SAFER_SURROUNDINGS(),
    SafetyStep.WHAT_MATTERS(),
]
STEP = dict(zip(STEPS, STEP_ENUMS))


RISK_ITEMS = {"phq9": [9], "srq20": [17], "gad7": [], "who5": []}


def wording_json(instrument="phq9", language="id", items=None, options=None, source=None, **extra):
    """A programme wording (schema sebaya-wording/2): `options` answers listed value 0 first, each with
    its value (or the list itself), and the risk items of the instrument's rule; `extra` adds or
    overrides fields."""
    n_items, n_options = COUNTS.get(instrument, (9, 4))
    doc = {
        "schema": "sebaya-wording/2",
        "instrument": instrument,
        "language": language,
        "instructions": "Petunjuk dari program",
        "items": [f"butir {i + 1}" for i in range(n_items if items is None else items)],
        "options": (
            options
            if isinstance(options, list)
            else [{"label": f"pilihan {v}", "value": v} for v in range(n_options if options is None else options)]
        ),
        "risk_items": RISK_ITEMS.get(instrument, [9]),
        "source": source,
    }
    doc.update(extra)
    return json.dumps(doc)


# An SRQ-20 form as an Indonesian programme prints it: "Ya" before "Tidak".
SRQ20_YA_FIRST = [{"label": "Ya", "value": 1}, {"label": "Tidak", "value": 0}]


def srq20_ya_first(**extra):
    doc = json.loads(wording_json("srq20", options=SRQ20_YA_FIRST, source="Program X, 2025"))
    doc["items"] = [f"pertanyaan {i}" for i in range(1, 21)]
    doc.update(extra)
    return json.dumps(doc)


@pytest.fixture
def vault(tmp_path):
    return Vault.open(str(tmp_path / "v.db"), generate_master_key())


# --- wordings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument", sorted(COUNTS))
def test_builtin_english_wordings_are_cited_and_complete(vault, instrument):
    w = vault.care().instrument_wording(INSTRUMENT[instrument], "en")
    n_items, n_options = COUNTS[instrument]
    assert (w.instrument, w.language) == (INSTRUMENT[instrument], "en")
    assert len(w.items) == n_items and len(w.options) == n_options
    assert w.validated and w.builtin
    assert not hasattr(w, "fallback_language")
    assert w.source and len(w.source) > 20
    assert sorted(w.display_order) == list(range(n_options))
    assert w.risk_items == RISK_ITEMS[instrument]
    assert vault.care().instrument_offered(INSTRUMENT[instrument], "en")


def test_specific_builtin_texts(vault):
    phq = vault.care().instrument_wording(INSTRUMENT["phq9"], "en")
    assert phq.items[0] == "Little interest or pleasure in doing things"
    assert "better off dead" in phq.items[8]
    assert phq.options == ["Not at all", "Several days", "More than half the days", "Nearly every day"]
    assert list(phq.display_order) == [0, 1, 2, 3] and phq.risk_items == [9]
    assert "Pfizer" in phq.source
    who = vault.care().instrument_wording(INSTRUMENT["who5"], "en")
    assert who.options[0] == "At no time" and who.options[5] == "All of the time"
    # The WHO-5 form prints "All of the time" (5) first.
    assert list(who.display_order) == [5, 4, 3, 2, 1, 0]
    srq = vault.care().instrument_wording(INSTRUMENT["srq20"], "en")
    assert srq.options == ["No", "Yes"]
    assert "ending your life" in srq.items[16] and srq.risk_items == [17]


def test_indonesian_without_programme_wording_is_not_offered(vault):
    for instrument in INSTRUMENT.values():
        for tag in ("id", "id-ID", "in", "in_ID"):
            assert not vault.care().instrument_offered(instrument, tag)
            with pytest.raises(SebayaError.NotFound):
                vault.care().instrument_wording(instrument, tag)
        assert vault.care().instrument_offered(instrument, "en-GB")
        assert vault.care().instrument_wording(instrument, "en-GB").builtin


def test_old_android_in_reads_as_id(vault):
    got = vault.care().import_instrument_wording(srq20_ya_first(language="in"))
    assert got.language == "id"
    for tag in ("in", "in-ID", "id", "id_ID"):
        assert vault.care().instrument_offered(INSTRUMENT["srq20"], tag)
        assert vault.care().instrument_wording(INSTRUMENT["srq20"], tag).language == "id"
    assert not vault.care().instrument_offered(INSTRUMENT["phq9"], "in")


def test_programme_wording_unvalidated_then_replaced_with_a_cited_one(tmp_path):
    key = generate_master_key()
    path = str(tmp_path / "w.db")
    v = Vault.open(path, key)
    got = v.care().import_instrument_wording(wording_json())
    assert (got.language, got.validated, got.source, got.builtin) == ("id", False, None, False)
    del v
    v = Vault.open(path, key)  # kept in the vault across a reopen
    w = v.care().instrument_wording(INSTRUMENT["phq9"], "id")
    assert w.items[0] == "butir 1" and not w.validated and w.source is None
    assert w.instructions == "Petunjuk dari program"
    assert list(w.display_order) == [0, 1, 2, 3] and w.risk_items == [9]
    v.care().import_instrument_wording(wording_json(source="Terjemahan tervalidasi, Program X 2025"))
    w = v.care().instrument_wording(INSTRUMENT["phq9"], "id-ID")
    assert w.validated and w.source == "Terjemahan tervalidasi, Program X 2025"
    # Other instruments are still not offered in Indonesian.
    assert not v.care().instrument_offered(INSTRUMENT["who5"], "id")
    with pytest.raises(SebayaError.NotFound):
        v.care().instrument_wording(INSTRUMENT["who5"], "id")


def test_a_form_printed_ya_before_tidak_scores_ya_as_one_and_keeps_the_risk_rule(tmp_path):
    v = Vault.open(str(tmp_path / "srq.db"), generate_master_key())
    v.create_person()
    w = v.care().import_instrument_wording(srq20_ya_first())
    assert w.options == ["Tidak", "Ya"] and list(w.display_order) == [1, 0] and w.risk_items == [17]
    # What the app does: show the labels in the printed order, record the value of the one tapped.
    shown = [(w.options[value], value) for value in w.display_order]
    assert shown == [("Ya", 1), ("Tidak", 0)]
    value = dict(shown)
    answers = [value["Tidak"]] * 20
    answers[16] = value["Ya"]
    esc = v.care().submit_screening(INSTRUMENT["srq20"], bytes(answers), "id")
    assert esc.score.total == 1 and esc.rules == [RiskFlag.SRQ20_ITEM17()]
    esc = v.care().submit_screening(INSTRUMENT["srq20"], bytes([value["Tidak"]] * 20), "id")
    assert esc.score.total == 0 and esc.rules == []


def test_preview_shows_each_label_with_its_value_and_the_risk_items(vault):
    p = preview_instrument_wording(srq20_ya_first())
    assert [(a.label, a.value) for a in p.answers] == [("Ya", 1), ("Tidak", 0)]
    assert len(p.risk_items) == 1
    r = p.risk_items[0]
    assert (r.item, r.text, r.flag) == (17, "pertanyaan 17", RiskFlag.SRQ20_ITEM17())
    assert [(a.label, a.value) for a in r.raised_by] == [("Ya", 1)]
    assert p.wording.options == ["Tidak", "Ya"] and list(p.wording.display_order) == [1, 0]
    # PHQ-9 printed from the top: item 9 raises the flag on every answer above 0.
    phq = wording_json(options=[{"label": f"p{v}", "value": v} for v in (3, 2, 1, 0)])
    p = preview_instrument_wording(phq)
    assert [a.value for a in p.answers] == [3, 2, 1, 0]
    assert [(r.item, r.flag) for r in p.risk_items] == [(9, RiskFlag.PHQ9_ITEM9())]
    assert [a.label for a in p.risk_items[0].raised_by] == ["p3", "p2", "p1"]
    assert preview_instrument_wording(wording_json("gad7")).risk_items == []
    # A preview keeps nothing.
    assert not vault.care().instrument_offered(INSTRUMENT["srq20"], "id")
    with pytest.raises(SebayaError.InvalidInput):
        preview_instrument_wording(srq20_ya_first(risk_items=[16]))


V1_SRQ20 = json.dumps(
    {
        "schema": "sebaya-wording/1",
        "instrument": "srq20",
        "language": "id",
        "items": [f"pertanyaan {i}" for i in range(1, 21)],
        "options": ["Ya", "Tidak"],
        "source": None,
    }
)


def test_a_v1_wording_is_refused_and_points_to_v2(vault):
    with pytest.raises(SebayaError.InvalidInput) as e:
        vault.care().import_instrument_wording(V1_SRQ20)
    assert "sebaya-wording/2" in e.value.detail
    with pytest.raises(SebayaError.InvalidInput):
        preview_instrument_wording(V1_SRQ20)
    assert not vault.care().instrument_offered(INSTRUMENT["srq20"], "id")


def test_a_risk_items_mismatch_names_the_expected_items(vault):
    with pytest.raises(SebayaError.InvalidInput) as e:
        vault.care().import_instrument_wording(srq20_ya_first(risk_items=[16]))
    assert "[17]" in e.value.detail
    with pytest.raises(SebayaError.InvalidInput) as e:
        vault.care().import_instrument_wording(wording_json(risk_items=[]))
    assert "[9]" in e.value.detail


def test_errors_never_repeat_the_text_given(vault):
    for bad in (
        srq20_ya_first(options=[{"label": "RAHASIA\u0007", "value": 1}, {"label": "Tidak", "value": 0}]),
        srq20_ya_first(RAHASIA=1),
        srq20_ya_first(options=[{"label": "Ya", "value": "RAHASIA"}, {"label": "Tidak", "value": 0}]),
        srq20_ya_first(instrument="RAHASIA"),
    ):
        with pytest.raises(SebayaError.InvalidInput) as e:
            preview_instrument_wording(bad)
        assert "RAHASIA" not in e.value.detail


@pytest.mark.parametrize(
    "bad",
    [
        wording_json(items=8),
        wording_json(items=10),
        wording_json(options=3),
        wording_json(instrument="who5", options=4),
        wording_json(instrument="phq10"),
        wording_json(schema="sebaya-wording/9"),
        wording_json(schema="sebaya-wording/1"),
        wording_json(language="bahasa indonesia"),
        wording_json(source=""),
        wording_json(extra_field=1),
        wording_json(instructions="x" * 2001),
        wording_json(instructions="bell \u0007"),
        # v2: values not exactly 0..=max each once, a bare label, a missing or wrong risk_items.
        srq20_ya_first(options=[{"label": "Ya", "value": 1}, {"label": "Tidak", "value": 1}]),
        srq20_ya_first(options=[{"label": "Ya", "value": 2}, {"label": "Tidak", "value": 0}]),
        srq20_ya_first(options=[{"label": "Ya", "value": -1}, {"label": "Tidak", "value": 0}]),
        srq20_ya_first(options=["Ya", "Tidak"]),
        srq20_ya_first(options=[{"label": "Ya", "value": 1, "score": 1}, {"label": "Tidak", "value": 0}]),
        srq20_ya_first(options=[{"label": "Ya", "value": 1}, {"label": "Ya", "value": 0}]),
        srq20_ya_first(risk_items=[]),
        srq20_ya_first(risk_items=[16]),
        srq20_ya_first(risk_items=[17, 17]),
        wording_json("gad7", risk_items=[9]),
        json.dumps({k: v for k, v in json.loads(srq20_ya_first()).items() if k != "risk_items"}),
        V1_SRQ20,
        "{not json",
        "",
        "x" * 70_000,
    ],
)
def test_bad_wording_json_is_refused(vault, bad):
    with pytest.raises(SebayaError.InvalidInput):
        vault.care().import_instrument_wording(bad)
    with pytest.raises(SebayaError.InvalidInput):
        preview_instrument_wording(bad)
    assert not vault.care().instrument_offered(INSTRUMENT["phq9"], "id")
    assert not vault.care().instrument_offered(INSTRUMENT["srq20"], "id")


def test_unknown_instrument_or_language_is_refused(vault):
    with pytest.raises(SebayaError.InvalidInput):
        vault.care().instrument_wording(Instrument.UNKNOWN(raw="phq10"), "en")
    with pytest.raises(SebayaError.InvalidInput):
        vault.care().instrument_wording(INSTRUMENT["phq9"], "")
    with pytest.raises(SebayaError.InvalidInput):
        vault.care().instrument_offered(Instrument.UNKNOWN(raw="phq10"), "en")
    with pytest.raises(SebayaError.InvalidInput):
        vault.care().instrument_offered(INSTRUMENT["phq9"], "??")


# --- safety plan ----------------------------------------------------------------------------------


def test_steps_titles_and_prompts_are_localized(vault):
    assert safety_plan_steps() == STEP_ENUMS
    en = vault.care().safety_plan("en")
    id_ = vault.care().safety_plan("id")
    assert [s.step for s in en] == STEP_ENUMS and all(s.items == [] for s in en)
    for e, i, step_id in zip(en, id_, STEPS):
        assert e.title and e.prompt and e.title != i.title and e.prompt != i.prompt
        assert e.title == localized_message(f"safety-step-{step_id}-title", "en", None)


def test_add_edit_remove_and_reopen(tmp_path):
    key = generate_master_key()
    path = str(tmp_path / "s.db")
    v = Vault.open(path, key)
    a = v.care().add_safety_plan_item(STEP["warning-signs"], "Tidak bisa tidur")
    b = v.care().add_safety_plan_item(STEP["help-people"], "Kak Rina")
    c = v.care().add_safety_plan_item(STEP["help-people"], "Pak Budi, guru BK")
    assert len({a, b, c}) == 3 and all(len(x) == 16 for x in (a, b, c))
    v.care().edit_safety_plan_item(b, "Kak Rina 0812", None, None)
    v.care().edit_safety_plan_item(c, None, None, -1)  # move first within its step
    v.care().edit_safety_plan_item(a, None, STEP["what-matters"], None)
    del v
    v = Vault.open(path, key)
    sections = v.care().safety_plan("id")
    assert [s.step for s in sections] == STEP_ENUMS
    plan = dict(zip(STEPS, sections))
    assert [i.text for i in plan["help-people"].items] == ["Pak Budi, guru BK", "Kak Rina 0812"]
    assert plan["warning-signs"].items == []
    assert [i.id for i in plan["what-matters"].items] == [a]
    item = plan["help-people"].items[1]
    assert item.edited_ms >= item.added_ms > 0 and item.step == STEP["help-people"]
    v.care().remove_safety_plan_item(b)
    assert [i.id for i in v.care().safety_plan("en")[3].items] == [c]
    with pytest.raises(SebayaError.NotFound):
        v.care().remove_safety_plan_item(b)
    with pytest.raises(SebayaError.NotFound):
        v.care().edit_safety_plan_item("0123456789abcdef", "x", None, None)
    # Plan items never appear as journal entries.
    assert v.journal().list() == []


@pytest.mark.parametrize(
    "step,text",
    [("no-such-step", "x"), ("coping-alone", ""), ("coping-alone", "   "), ("coping-alone", "x" * 2001), ("coping-alone", "a\u0000b")],
)
def test_bad_items_are_refused(vault, step, text):
    with pytest.raises(SebayaError.InvalidInput):
        vault.care().add_safety_plan_item(STEP.get(step, SafetyStep.UNKNOWN(raw=step)), text)
    assert all(s.items == [] for s in vault.care().safety_plan("en"))


def test_summary_and_json_snapshot(vault):
    vault.care().add_safety_plan_item(STEP["professionals"], "SEJIWA 119 ext. 8")
    vault.care().add_safety_plan_item(STEP["coping-alone"], "Jalan sore\ndengar musik")
    en = vault.care().safety_plan_summary("en")
    id_ = vault.care().safety_plan_summary("id")
    assert en != id_
    assert "SEJIWA 119 ext. 8" in en and "SEJIWA 119 ext. 8" in id_
    for s in vault.care().safety_plan("id"):
        assert s.title in id_
    snap = json.loads(vault.care().safety_plan_json())
    assert [s["step"] for s in snap["sections"]] == STEPS
    assert snap["sections"][1]["items"][0]["text"] == "Jalan sore\ndengar musik"


def test_plan_items_added_offline_on_two_linked_devices_both_arrive(tmp_path, relay):
    a = Vault.open(str(tmp_path / "a.db"), generate_master_key())
    b = Vault.open(str(tmp_path / "b.db"), generate_master_key())
    b.complete_link(a.approve_link(b.link_request()))
    # Both write before either has synced: one item each, same step.
    ia = a.care().add_safety_plan_item(STEP["coping-alone"], "Ditulis di ponsel A")
    ib = b.care().add_safety_plan_item(STEP["coping-alone"], "Ditulis di ponsel B")
    a.sync(relay.url)
    b.sync(relay.url)
    a.sync(relay.url)
    for v in (a, b):
        items = v.care().safety_plan("id")[1].items
        assert {i.id for i in items} == {ia, ib}
        assert {i.text for i in items} == {"Ditulis di ponsel A", "Ditulis di ponsel B"}
    assert a.care().safety_plan_json() == b.care().safety_plan_json()


def test_a_device_with_its_own_plan_is_not_linked_over_it(tmp_path):
    a = Vault.open(str(tmp_path / "a.db"), generate_master_key())
    b = Vault.open(str(tmp_path / "b.db"), generate_master_key())
    b.care().add_safety_plan_item(STEP["what-matters"], "Adikku")
    with pytest.raises(SebayaError.AlreadyLinked):
        b.complete_link(a.approve_link(b.link_request()))
    assert b.care().safety_plan("en")[6].items[0].text == "Adikku"
