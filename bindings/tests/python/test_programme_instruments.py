"""Programme-defined instruments and SRQ-20's cut-off through the Python bindings (issue 14, item 8):
a coordinator checks and adds an instrument, the participant screens with it, a risk answer refers,
a bad definition is refused with a typed fault.

"TEST-3" is FICTIONAL: placeholder items and labels, no real instrument's wording or citation."""

import json

import pytest

from sebaya import (
    ConsentPurpose,
    Instrument,
    InstrumentProblem,
    ProgrammeRole,
    ReferralReason,
    RiskFlag,
    SebayaError,
    Vault,
    check_programme_instrument,
    generate_master_key,
)


def fictional(version="1.0"):
    return {
        "schema": "sebaya-instrument/1",
        "id": "x-test3",
        "name": "TEST-3 (fictional)",
        "version": version,
        "citation": {"authors": "Sebaya test fixture", "year": 2026,
                     "title": "TEST-3, a fictional three-item instrument for tests",
                     "published_in": "not published: a test fixture"},
        "licence": "fictional, for tests only",
        "age": {"min": 12, "max": 17},
        "scoring": {"reverse_items": [2], "multiplier": 1},
        "bands": [{"id": "low", "min": 0, "max": 2, "positive": False},
                  {"id": "high", "min": 3, "max": 6, "positive": True}],
        "risk_items": [{"item": 3, "values": [1, 2]}],
        "languages": [{
            "language": "en",
            "items": ["Placeholder item one", "Placeholder item two", "Placeholder item three"],
            "options": [{"label": "Placeholder answer A", "value": 0},
                        {"label": "Placeholder answer B", "value": 1},
                        {"label": "Placeholder answer C", "value": 2}],
            "bands": {"low": "Placeholder low", "high": "Placeholder high"},
        }],
    }


def person(path) -> Vault:
    v = Vault.open(str(path), generate_master_key())
    v.create_person()
    return v


def programme(tmp_path, relay):
    coord, sup, part = (person(tmp_path / f"{n}.db") for n in ("c", "s", "p"))
    pid = coord.programmes().create("PIK-R SMA 8")
    grant = coord.programmes().grant_role(pid, sup.person_id(), ProgrammeRole.PEER_SUPPORTER(), valid_days=90)
    sup.programmes().add_credential(grant.credential)
    enrol = coord.care().enrol(part.link_request(), pid)
    part.spaces().join(enrol.response)
    sup.spaces().join(coord.spaces().approve_member(enrol.care_id, sup.link_request()))
    for v in (coord, part, sup):
        v.sync(relay.url)
    part.care().give_consent(enrol.care_id, ConsentPurpose.DUTY_OF_CARE(), True)
    for v in (part, coord, sup):
        v.sync(relay.url)
    return coord, sup, part, enrol.care_id, pid


def test_bad_definitions_are_refused_with_a_typed_fault():
    assert check_programme_instrument(json.dumps(fictional())) is None
    cases = []
    d = fictional(); d["bands"][1]["min"] = 2; cases.append((d, InstrumentProblem.BANDS_OVERLAP(at=2)))
    d = fictional(); d["bands"][1]["min"] = 4; cases.append((d, InstrumentProblem.BANDS_GAP(at=3)))
    d = fictional(); d["risk_items"][0]["item"] = 4; cases.append((d, InstrumentProblem.RISK_ITEM_OUT_OF_RANGE(item=4)))
    d = fictional(); del d["citation"]; cases.append((d, InstrumentProblem.MISSING_CITATION()))
    d = fictional(); del d["languages"][0]["options"][1]["value"]; cases.append((d, InstrumentProblem.LABEL_WITHOUT_VALUE()))
    d = fictional(); d["id"] = "phq9"; cases.append((d, InstrumentProblem.RESERVED_ID()))
    for d, want in cases:
        assert check_programme_instrument(json.dumps(d)) == want
    assert isinstance(check_programme_instrument("{"), InstrumentProblem.JSON)


def test_a_programme_instrument_screens_and_a_risk_answer_refers(tmp_path, relay):
    coord, sup, part, care, pid = programme(tmp_path, relay)
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().set_programme_instrument(pid, json.dumps(fictional()))
    bad = fictional(); bad["id"] = "srq20"
    with pytest.raises(SebayaError.InvalidInput):
        coord.care().set_programme_instrument(pid, json.dumps(bad))
    added = coord.care().set_programme_instrument(pid, json.dumps(fictional()))
    assert (added.id, added.version, added.items, added.min_age, added.max_age) == ("x-test3", "1.0", 3, 12, 17)
    assert added.risk_items[0].flag == "x-test3-item3"
    coord.sync(relay.url)
    part.sync(relay.url)
    (got,) = part.care().programme_instruments()
    assert got.citation.year == 2026 and got.languages == ["en"]
    assert part.care().programme_instrument_offered("x-test3", "en")
    assert not part.care().programme_instrument_offered("x-test3", "id")
    form = part.care().programme_instrument_form("x-test3", "en")
    assert [(o.label, o.value) for o in form.options][2] == ("Placeholder answer C", 2)
    with pytest.raises(SebayaError.NotFound):
        part.care().programme_instrument_form("x-test3", "id")

    calm = part.care().submit_programme_screening("x-test3", "en", bytes([1, 1, 0]), "ID")
    assert (calm.programme_score.total, calm.programme_score.band) == (2, "low")
    assert calm.rules == [] and calm.referrals == [] and calm.resources
    with pytest.raises(SebayaError.InvalidInput):
        part.care().submit_programme_screening("x-test3", "en", bytes([0, 0, 3]), "ID")

    esc = part.care().submit_programme_screening("x-test3", "en", bytes([0, 2, 2]), "ID")
    assert esc.rules == [RiskFlag.UNKNOWN(raw="x-test3-item3")]
    assert len(esc.referrals) == 1 and esc.show_safety_plan and esc.resources
    kept = part.care().screenings()[-1]
    assert (kept.instrument, kept.instrument_version, kept.language, kept.wording) == (
        Instrument.UNKNOWN(raw="x-test3"), "1.0", "en", "x-test3@1.0/en")
    part.sync(relay.url)
    coord.sync(relay.url)
    (inbox,) = coord.care().referral_inbox()
    assert inbox.reason == ReferralReason.UNKNOWN(raw="x-test3-item3")


def test_srq20_cutoff_is_the_programmes(tmp_path, relay):
    coord, sup, part, care, pid = programme(tmp_path, relay)
    s = part.care().srq20_settings()
    assert s.cutoff == 6 and s.is_default and "Riskesdas" in s.citation
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().set_srq20_settings(pid, 8, 18, None, "A study")
    with pytest.raises(SebayaError.InvalidInput):
        coord.care().set_srq20_settings(pid, 8, 18, None, " ")
    assert coord.care().set_srq20_settings(pid, 8, 18, None, "Fictional validation study, for tests only") == 1
    coord.sync(relay.url)
    part.sync(relay.url)
    s = part.care().srq20_settings()
    assert (s.cutoff, s.min_age, s.max_age, s.is_default) == (8, 18, None, False)
    assert not part.care().srq20_suits_age(17) and part.care().srq20_suits_age(18)
    seven = bytes([1] * 7 + [0] * 13)
    assert not part.care().submit_screening(Instrument.SRQ20(), seven, "ID").score.positive_screen
    esc = part.care().submit_screening_with(Instrument.SRQ20(), "en", bytes([0] * 16 + [1] + [0] * 3), "ID")
    assert esc.rules == [RiskFlag.SRQ20_ITEM17()] and len(esc.referrals) == 1
    kept = part.care().screenings()[-1]
    assert (kept.language, kept.wording) == ("en", "builtin:srq20/en")
