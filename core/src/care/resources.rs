//! Crisis resources: the numbers to call, built in per country or set by a programme, and the
//! "I need help now" screen that needs no vault (issue 14, item 1). Pure data and checks: nothing
//! here reads or writes a document, so it can serve a lock screen or an error screen.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Largest crisis-resource list a programme may set for one country, in bytes of JSON.
pub const MAX_RESOURCES_JSON: usize = 8 * 1024;
/// Most crisis resources for one country.
const MAX_RESOURCES: usize = 12;

/// A number to call in a crisis. Data, per country, which a programme can replace with its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrisisResource {
    /// `crisis-line`, `emergency` or `other`: the app shows a localized label for it
    /// (`crisis-kind-<kind>`).
    pub kind: String,
    /// The service's own name (a proper name, not translated).
    pub name: String,
    /// The number to dial.
    pub number: String,
    /// An extension to choose after dialling, if any.
    #[serde(default)]
    pub extension: Option<String>,
}

/// Built-in resources. Indonesia: SEJIWA, phone counselling by psychologist volunteers, on 119
/// extension 8, and the emergency number 112 (both from `shared/design/care.md`). Other countries
/// have none built in: a programme supplies them, and the app falls back to telling the person to
/// call their local emergency number.
pub fn built_in_resources(country: &str) -> Vec<CrisisResource> {
    match country.to_ascii_lowercase().as_str() {
        "id" => vec![
            CrisisResource {
                kind: "crisis-line".into(),
                name: "SEJIWA".into(),
                number: "119".into(),
                extension: Some("8".into()),
            },
            CrisisResource {
                kind: "emergency".into(),
                name: "112".into(),
                number: "112".into(),
                extension: None,
            },
        ],
        _ => Vec::new(),
    }
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
    for r in &list {
        let number_ok = |n: &str| {
            !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit() || b == b'+')
        };
        if !matches!(r.kind.as_str(), "crisis-line" | "emergency" | "other")
            || r.name.trim().is_empty()
            || r.name.chars().count() > 80
            || r.name.chars().any(char::is_control)
            || !number_ok(&r.number)
            || r.extension.as_deref().is_some_and(|e| !number_ok(e))
        {
            return Err(Error::InvalidInput(
                "a crisis resource needs a kind, a name and a dialable number".into(),
            ));
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
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
