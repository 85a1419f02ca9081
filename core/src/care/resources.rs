//! Crisis resources: the numbers to call, built in per country or set by a programme, and the
//! "I need help now" screen that needs no vault (issue 14, item 1). Pure data and checks: nothing
//! here reads or writes a document, so it can serve a lock screen or an error screen.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Largest crisis-resource list a programme may set for one country, in bytes of JSON.
pub const MAX_RESOURCES_JSON: usize = 8 * 1024;
/// Most crisis resources for one country.
const MAX_RESOURCES: usize = 12;

/// A service to reach in a crisis: data, per country, built in or added by a programme.
///
/// Unknown fields are ignored rather than refused, so a list written by a newer app still reads
/// here (an older app then shows the fields it knows). A list written before `channel` existed
/// reads as phone numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrisisResource {
    /// `crisis-line`, `emergency`, `protection` (violence against women and children) or `other`:
    /// the app shows a localized label for it (`crisis-kind-<kind>`).
    pub kind: String,
    /// The service's own name (a proper name, not translated).
    pub name: String,
    /// How to reach it: `phone`, `whatsapp`, `sms` or `web` (label `crisis-channel-<channel>`).
    #[serde(default = "phone")]
    pub channel: String,
    /// The number to dial or to message (digits, an optional leading `+`); empty for `web`.
    #[serde(default)]
    pub number: String,
    /// An extension to choose after dialling, if any.
    #[serde(default)]
    pub extension: Option<String>,
    /// The `https://` address of a `web` service.
    #[serde(default)]
    pub url: Option<String>,
    /// When it answers: `24/7` or `HH:MM-HH:MM` in local time; unknown when absent.
    #[serde(default)]
    pub hours: Option<String>,
    /// It works in only part of the country (Indonesia's 112): the app says so and never shows it
    /// as the only line.
    #[serde(default)]
    pub partial_coverage: bool,
    /// The day (`YYYY-MM-DD`) someone last checked it against `source`.
    #[serde(default)]
    pub verified_on: Option<String>,
    /// Where the entry comes from (a page, a letter), so a programme can check it again.
    #[serde(default)]
    pub source: Option<String>,
}

fn phone() -> String {
    "phone".into()
}

/// When the built-in list was last reviewed against its sources. The entries come from public
/// pages named in each `source`, as gathered in `shared/design/care.md` and issue 14; no programme
/// has confirmed them yet, so a programme should check them and add its own local lines.
const BUILT_IN_REVIEWED: &str = "2026-12-06";

fn built_in(
    kind: &str,
    name: &str,
    channel: &str,
    number: &str,
    extension: Option<&str>,
    hours: Option<&str>,
    source: &str,
) -> CrisisResource {
    let web = channel == "web";
    CrisisResource {
        kind: kind.into(),
        name: name.into(),
        channel: channel.into(),
        number: if web { String::new() } else { number.into() },
        extension: extension.map(Into::into),
        url: web.then(|| number.into()),
        hours: hours.map(Into::into),
        partial_coverage: false,
        verified_on: Some(BUILT_IN_REVIEWED.into()),
        source: Some(source.into()),
    }
}

/// Built-in resources, in the order a person in crisis should see them. Indonesia (sources in
/// each entry and in docs/care.md): SEJIWA, phone counselling by psychologist volunteers on 119
/// extension 8; healing119.id, the Ministry of Health's suicide-prevention web service; SAPA 129
/// and its WhatsApp line for violence against women and children; then the national emergency
/// numbers 119 (health), 110 (police) and 112 (integrated, in part of the country only). Other
/// countries have none built in: a programme supplies them, and the app tells the person to call
/// their local emergency number.
pub fn built_in_resources(country: &str) -> Vec<CrisisResource> {
    const CARE_MD: &str = "shared/design/care.md (public pages, late 2025)";
    match country.to_ascii_lowercase().as_str() {
        "id" => {
            let mut list = vec![
                built_in(
                    "crisis-line",
                    "SEJIWA",
                    "phone",
                    "119",
                    Some("8"),
                    None,
                    CARE_MD,
                ),
                built_in(
                    "crisis-line",
                    "Healing119",
                    "web",
                    "https://healing119.id",
                    None,
                    None,
                    "Kementerian Kesehatan, kesprimkom.kemkes.go.id, 7 August 2025",
                ),
                built_in(
                    "protection",
                    "SAPA 129",
                    "phone",
                    "129",
                    None,
                    Some("24/7"),
                    "KemenPPPA via tribratanews.com, 21 September 2023",
                ),
                built_in(
                    "protection",
                    "SAPA 129",
                    "whatsapp",
                    "+628111129129",
                    None,
                    Some("24/7"),
                    "KemenPPPA via tribratanews.com, 21 September 2023 (published as 08111129129)",
                ),
                built_in(
                    "emergency",
                    "119",
                    "phone",
                    "119",
                    None,
                    Some("24/7"),
                    CARE_MD,
                ),
                built_in(
                    "emergency",
                    "110",
                    "phone",
                    "110",
                    None,
                    Some("24/7"),
                    CARE_MD,
                ),
                built_in(
                    "emergency",
                    "112",
                    "phone",
                    "112",
                    None,
                    Some("24/7"),
                    CARE_MD,
                ),
            ];
            if let Some(last) = list.last_mut() {
                last.partial_coverage = true;
            }
            list
        }
        _ => Vec::new(),
    }
}

/// A programme's own list for a country, followed by the national emergency numbers built in for
/// it that the list does not already name: a programme adds lines, never removes the national ones.
pub fn with_national_numbers(country: &str, mut own: Vec<CrisisResource>) -> Vec<CrisisResource> {
    for r in built_in_resources(country) {
        if r.kind == "emergency"
            && !own
                .iter()
                .any(|o| o.number == r.number && o.extension == r.extension)
        {
            own.push(r);
        }
    }
    own
}

/// The country whose built-in crisis numbers stand in when an app passes a country code that is not
/// one: the programmes Sebaya serves today are in Indonesia, and showing some numbers with "call
/// your local emergency number" is safer than an error on a crisis screen.
pub const FALLBACK_COUNTRY: &str = "id";

/// What an app shows when someone needs help now and nothing else can be relied on: on the lock
/// screen before any passcode, after any error, with no vault and no network. Built only from data
/// compiled into the library, so it cannot fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmergencyHelp {
    /// A short heading, in the requested language.
    pub title: String,
    /// The crisis numbers built in for the country (never a programme's own list: that needs the
    /// vault). Empty where none are built in: then `steps` starts with "call your local emergency
    /// number".
    pub resources: Vec<CrisisResource>,
    /// The country code was not a two-letter code: the list of [`FALLBACK_COUNTRY`] is shown.
    pub country_unknown: bool,
    /// What to do now, in order, in the requested language: call (the local emergency number first
    /// when no numbers are built in or the country was not understood); tell someone you trust and
    /// ask them to stay; move away from means of self-harm; in immediate danger, the emergency number
    /// (the steps of WHO mhGAP's advice where no professional is at hand).
    pub steps: Vec<String>,
}

/// The "I need help now" screen that needs nothing: no open vault, no passcode, no network.
/// `country` is ISO 3166 alpha-2 (anything else falls back to [`FALLBACK_COUNTRY`]); `locale` picks
/// the language ("id", "en", "in" for old Android; others read English).
pub fn emergency_help(country: &str, locale: &str) -> EmergencyHelp {
    let (cc, country_unknown) = match check_country(country) {
        Ok(cc) => (cc, false),
        Err(_) => (FALLBACK_COUNTRY.to_string(), true),
    };
    let resources = built_in_resources(&cc);
    let say = |id: &str| crate::i18n::message(locale, id, &[]);
    let mut steps = Vec::with_capacity(5);
    // Numbers of another country may not be the person's: the local emergency number comes first.
    if resources.is_empty() || country_unknown {
        steps.push(say("crisis-none"));
    }
    if !resources.is_empty() {
        steps.push(say("help-now-call"));
    }
    steps.push(say("help-now-stay-with-someone"));
    steps.push(say("help-now-safer"));
    steps.push(say("help-now-danger"));
    EmergencyHelp {
        title: say("help-now-title"),
        resources,
        country_unknown,
        steps,
    }
}

pub(super) fn check_country(country: &str) -> Result<String> {
    if country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(country.to_ascii_lowercase())
    } else {
        Err(Error::InvalidInput(
            "country must be a two-letter ISO 3166 code".into(),
        ))
    }
}

fn well_formed(r: &CrisisResource) -> bool {
    let number_ok = |n: &str| {
        !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit() || b == b'+')
    };
    let reach = match r.channel.as_str() {
        "phone" | "whatsapp" | "sms" => number_ok(&r.number) && r.url.is_none(),
        "web" => {
            r.number.is_empty()
                && r.extension.is_none()
                && r.url.as_deref().is_some_and(|u| {
                    u.len() <= 200
                        && u.strip_prefix("https://").is_some_and(|rest| {
                            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_graphic())
                        })
                })
        }
        _ => false,
    };
    matches!(
        r.kind.as_str(),
        "crisis-line" | "emergency" | "protection" | "other"
    ) && crate::space::doc::is_short_text(&r.name, 80)
        && reach
        && r.extension.as_deref().is_none_or(number_ok)
        && r.hours.as_deref().is_none_or(hours_ok)
        && r.verified_on.as_deref().is_none_or(date_ok)
        && r.source
            .as_deref()
            .is_none_or(|s| crate::space::doc::is_short_text(s, 200))
}

/// `24/7` or `HH:MM-HH:MM` (00:00 to 23:59; an end before the start runs past midnight).
fn hours_ok(h: &str) -> bool {
    let time = |t: &str| {
        let b = t.as_bytes();
        b.len() == 5
            && b[2] == b':'
            && t[..2]
                .parse::<u8>()
                .is_ok_and(|x| x < 24 && b[0].is_ascii_digit() && b[1].is_ascii_digit())
            && t[3..]
                .parse::<u8>()
                .is_ok_and(|x| x < 60 && b[3].is_ascii_digit() && b[4].is_ascii_digit())
    };
    h == "24/7" || h.split_once('-').is_some_and(|(a, b)| time(a) && time(b))
}

/// `YYYY-MM-DD` with a month 01-12 and a day 01-31.
fn date_ok(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && d[5..7].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && d[8..10].parse::<u8>().is_ok_and(|x| (1..=31).contains(&x))
}

/// Reads and checks a programme's list of resources (JSON).
pub fn parse_resources(json: &str) -> Result<Vec<CrisisResource>> {
    if json.len() > MAX_RESOURCES_JSON {
        return Err(Error::InvalidInput("the resource list is too large".into()));
    }
    let list: Vec<CrisisResource> = serde_json::from_str(json).map_err(|_| {
        Error::InvalidInput("the resource list is not valid JSON of resources".into())
    })?;
    if list.is_empty() || list.len() > MAX_RESOURCES {
        return Err(Error::InvalidInput(
            "a resource list has 1 to 12 entries".into(),
        ));
    }
    if !list.iter().all(well_formed) {
        return Err(Error::InvalidInput(
            "a crisis resource needs a kind, a name, a channel and a way to reach it (a dialable \
             number, or an https address for the web), hours as 24/7 or HH:MM-HH:MM and a date as \
             YYYY-MM-DD"
                .into(),
        ));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn emergency_help_needs_nothing_and_speaks_both_languages() {
        let id = emergency_help("ID", "in");
        assert!(!id.country_unknown);
        assert_eq!(id.resources, built_in_resources("id"));
        assert_eq!(id.steps.len(), 4);
        assert_eq!(id.title, crate::i18n::message("id", "help-now-title", &[]));
        let en = emergency_help("id", "en-GB");
        assert_eq!(en.resources, id.resources);
        assert_ne!(en.title, id.title);
        assert_eq!(
            en.steps[0],
            crate::i18n::message("en", "help-now-call", &[])
        );
        // A code that is not one falls back to the built-in list, and says so.
        let bad = emergency_help("Indonesia", "en");
        assert!(bad.country_unknown);
        assert_eq!(bad.resources, built_in_resources(FALLBACK_COUNTRY));
        // Numbers of another country may not be the person's: say to call the local number first.
        assert_eq!(bad.steps[0], crate::i18n::message("en", "crisis-none", &[]));
        assert_eq!(
            bad.steps[1],
            crate::i18n::message("en", "help-now-call", &[])
        );
        // No numbers built in: the first step says to call the local emergency number.
        let elsewhere = emergency_help("ke", "en");
        assert!(elsewhere.resources.is_empty() && !elsewhere.country_unknown);
        assert_eq!(
            elsewhere.steps[0],
            crate::i18n::message("en", "crisis-none", &[])
        );
    }

    /// Issue 14, item 16: every built-in resource says when it was checked, where it comes from, its
    /// channel and its hours; Indonesia's list has every national line the issue names, web
    /// channels included. (Read through JSON so this test compiles before the fields exist.)
    #[test]
    fn the_built_in_list_is_dated_sourced_and_complete() {
        let list = serde_json::to_value(built_in_resources("id")).unwrap();
        let list = list.as_array().unwrap();
        for r in list {
            for key in ["verified_on", "source", "channel", "hours"] {
                assert!(r.get(key).is_some(), "{key} missing in {r}");
            }
            for key in ["verified_on", "source", "channel"] {
                assert!(r[key].is_string(), "{key} not set in {r}");
            }
            let day = r["verified_on"].as_str().unwrap();
            assert!(chrono_like_date(day), "{day}");
        }
        let has = |channel: &str, number: &str, ext: Option<&str>| {
            list.iter().any(|r| {
                r["channel"] == channel
                    && (r["number"] == number || r["url"] == number)
                    && r["extension"].as_str() == ext
            })
        };
        assert!(has("phone", "119", Some("8")), "SEJIWA");
        assert!(has("phone", "119", None), "health emergency");
        assert!(has("phone", "110", None), "police");
        assert!(has("phone", "112", None), "integrated emergency number");
        assert!(has("phone", "129", None), "SAPA 129");
        assert!(
            has("whatsapp", "+628111129129", None),
            "SAPA 129 on WhatsApp"
        );
        assert!(has("web", "https://healing119.id", None), "healing119.id");
        // 112 is not yet available everywhere: it says so, and it is never the first line.
        let i112 = list.iter().position(|r| r["number"] == "112").unwrap();
        assert_eq!(list[i112]["partial_coverage"], true);
        assert_ne!(i112, 0);
    }

    fn chrono_like_date(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    }

    /// A programme's list may offer a WhatsApp line or a web service, with its hours and source.
    #[test]
    fn a_programme_list_may_use_every_channel() {
        let json = r#"[
            {"kind":"crisis-line","name":"Konseling Sekolah","channel":"whatsapp","number":"+62811000111",
             "hours":"07:00-15:00","verified_on":"2026-11-30","source":"school office letter"},
            {"kind":"other","name":"Layanan Web","channel":"web","url":"https://example.org/help"}
        ]"#;
        let list = serde_json::to_value(parse_resources(json).unwrap()).unwrap();
        assert_eq!(list[0]["channel"], "whatsapp");
        assert_eq!(list[0]["hours"], "07:00-15:00");
        assert_eq!(list[1]["url"], "https://example.org/help");
        for bad in [
            // A web service needs an https address, a phone channel a dialable number.
            r#"[{"kind":"other","name":"x","channel":"web","url":"http://example.org"}]"#,
            r#"[{"kind":"other","name":"x","channel":"web"}]"#,
            r#"[{"kind":"other","name":"x","channel":"pigeon","number":"1"}]"#,
            r#"[{"kind":"other","name":"x","number":"1","hours":"always"}]"#,
            r#"[{"kind":"other","name":"x","number":"1","verified_on":"yesterday"}]"#,
        ] {
            assert!(parse_resources(bad).is_err(), "{bad}");
        }
    }
}
