"""Instrument wordings and the safety plan through the Python bindings (issue 4), against the real
library. Run through `scripts/test.sh python`."""

import json

import pytest

from sebaya import (
    Instrument,
    SafetyStep,
    SebayaError,
    Vault,
    generate_master_key,
    localized_message,
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


def wording_json(instrument="phq9", language="id", items=None, options=None, source=None, **extra):
    n_items, n_options = COUNTS.get(instrument, (9, 4))
    doc = {
        "schema": "sebaya-wording/1",
        "instrument": instrument,
        "language": language,
        "instructions": "Petunjuk dari program",
        "items": [f"butir {i + 1}" for i in range(n_items if items is None else items)],
        "options": [f"pilihan {i}" for i in range(n_options if options is None else options)],
        "source": source,
    }
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
    assert w.validated and w.builtin and not w.fallback_language
    assert w.source and len(w.source) > 20


def test_specific_builtin_texts(vault):
    phq = vault.care().instrument_wording(INSTRUMENT["phq9"], "en")
    assert phq.items[0] == "Little interest or pleasure in doing things"
    assert "better off dead" in phq.items[8]
    assert phq.options == ["Not at all", "Several days", "More than half the days", "Nearly every day"]
    assert "Pfizer" in phq.source
    who = vault.care().instrument_wording(INSTRUMENT["who5"], "en")
    assert who.options[0] == "At no time" and who.options[5] == "All of the time"
    srq = vault.care().instrument_wording(INSTRUMENT["srq20"], "en")
    assert srq.options == ["No", "Yes"]
    assert "ending your life" in srq.items[16]


def test_indonesian_without_programme_wording_falls_back_to_english(vault):
    w = vault.care().instrument_wording(INSTRUMENT["gad7"], "id-ID")
    assert w.language == "en" and w.fallback_language and w.builtin and w.validated


def test_programme_wording_unvalidated_then_replaced_with_a_cited_one(tmp_path):
    key = generate_master_key()
    path = str(tmp_path / "w.db")
    v = Vault.open(path, key)
    got = v.care().import_instrument_wording(wording_json())
    assert (got.language, got.validated, got.source, got.builtin) == ("id", False, None, False)
    del v
    v = Vault.open(path, key)  # kept in the vault across a reopen
    w = v.care().instrument_wording(INSTRUMENT["phq9"], "id")
    assert w.items[0] == "butir 1" and not w.validated and w.source is None and not w.fallback_language
    assert w.instructions == "Petunjuk dari program"
    v.care().import_instrument_wording(wording_json(source="Terjemahan tervalidasi, Program X 2025"))
    w = v.care().instrument_wording(INSTRUMENT["phq9"], "id-ID")
    assert w.validated and w.source == "Terjemahan tervalidasi, Program X 2025"
    # Other instruments still fall back.
    assert v.care().instrument_wording(INSTRUMENT["who5"], "id").fallback_language


@pytest.mark.parametrize(
    "bad",
    [
        wording_json(items=8),
        wording_json(items=10),
        wording_json(options=3),
        wording_json(instrument="who5", options=4),
        wording_json(instrument="phq10"),
        wording_json(schema="sebaya-wording/9"),
        wording_json(language="bahasa indonesia"),
        wording_json(source=""),
        wording_json(extra_field=1),
        wording_json(instructions="x" * 2001),
        wording_json(instructions="bell \u0007"),
        "{not json",
        "",
        "x" * 70_000,
    ],
)
def test_bad_wording_json_is_refused(vault, bad):
    with pytest.raises(SebayaError.InvalidInput):
        vault.care().import_instrument_wording(bad)
    assert vault.care().instrument_wording(INSTRUMENT["phq9"], "id").builtin


def test_unknown_instrument_or_language_is_refused(vault):
    with pytest.raises(SebayaError.InvalidInput):
        vault.care().instrument_wording(Instrument.UNKNOWN(raw="phq10"), "en")
    with pytest.raises(SebayaError.InvalidInput):
        vault.care().instrument_wording(INSTRUMENT["phq9"], "")


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
