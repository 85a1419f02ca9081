//! User-facing text through Fluent, with Indonesian and English catalogues compiled in.
//!
//! The core never shows text itself; it hands apps message ids and, on request, the message in the
//! person's language. Adding a language is adding a catalogue file.

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource};
use unic_langid::LanguageIdentifier;

/// English catalogue files, one per area (general and errors, care, training, safety plan, reports,
/// platform capabilities, reports and blocks).
const EN: &[&str] = &[
    include_str!("../locales/en.ftl"),
    include_str!("../locales/care.en.ftl"),
    include_str!("../locales/training.en.ftl"),
    include_str!("../locales/safety.en.ftl"),
    include_str!("../locales/reports.en.ftl"),
    include_str!("../locales/peer.en.ftl"),
    include_str!("../locales/platform.en.ftl"),
    include_str!("../locales/moderation.en.ftl"),
];
/// Indonesian catalogue files, the same areas.
const ID: &[&str] = &[
    include_str!("../locales/id.ftl"),
    include_str!("../locales/care.id.ftl"),
    include_str!("../locales/training.id.ftl"),
    include_str!("../locales/safety.id.ftl"),
    include_str!("../locales/reports.id.ftl"),
    include_str!("../locales/peer.id.ftl"),
    include_str!("../locales/platform.id.ftl"),
    include_str!("../locales/moderation.id.ftl"),
];

/// Languages with a complete catalogue, as BCP 47 tags.
pub const LANGUAGES: [&str; 2] = ["id", "en"];

fn source(locale: &str) -> (&'static str, &'static [&'static str]) {
    let primary = locale
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase();
    if primary == "id" || primary == "in" {
        ("id", ID)
    } else {
        ("en", EN)
    }
}

fn bundle(tag: &str, src: &'static [&'static str]) -> Option<FluentBundle<FluentResource>> {
    let lang: LanguageIdentifier = tag.parse().ok()?;
    let mut b = FluentBundle::new(vec![lang]);
    b.set_use_isolating(false);
    for file in src {
        let res = FluentResource::try_new(file.to_string()).ok()?;
        b.add_resource(res).ok()?;
    }
    Some(b)
}

fn format(
    tag: &str,
    src: &'static [&'static str],
    id: &str,
    args: &[(&str, &str)],
) -> Option<String> {
    let b = bundle(tag, src)?;
    let msg = b.get_message(id)?;
    let pattern = msg.value()?;
    let mut fa = FluentArgs::new();
    for (k, v) in args {
        fa.set(*k, v.to_string());
    }
    let mut errors = Vec::new();
    let out = b.format_pattern(pattern, Some(&fa), &mut errors);
    if errors.is_empty() {
        Some(out.into_owned())
    } else {
        None
    }
}

/// The message `id` in `locale` ("id", "en", "id-ID"…), falling back to English, then to the id.
pub fn message(locale: &str, id: &str, args: &[(&str, &str)]) -> String {
    let (tag, src) = source(locale);
    format(tag, src, id, args)
        .or_else(|| format("en", EN, id, args))
        .unwrap_or_else(|| id.to_string())
}

/// Every message id in a catalogue (for completeness checks).
pub fn message_ids(locale: &str) -> Vec<String> {
    let (_, src) = source(locale);
    src.iter()
        .flat_map(|f| f.lines())
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
        .filter(|k| !k.is_empty() && !k.starts_with('#'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_messages_and_format() {
        let mut en = message_ids("en");
        let mut id = message_ids("id");
        en.sort_unstable();
        id.sort_unstable();
        assert!(!en.is_empty());
        assert_eq!(en, id);
        // Every variable a message uses in either language, so formatting cannot fail for want of one.
        let vars = |m: &str| -> Vec<String> {
            let mut out = vec!["detail".to_string()];
            for src in EN.iter().chain(ID.iter()) {
                for line in src.lines().filter(|l| l.starts_with(&format!("{m} = "))) {
                    for part in line.split("{ $").skip(1) {
                        if let Some(name) = part.split([' ', '}']).next() {
                            out.push(name.to_string());
                        }
                    }
                }
            }
            out
        };
        for m in &en {
            let names = vars(m);
            let args: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "7")).collect();
            let e = message("en", m, &args);
            let i = message("id", m, &args);
            assert_ne!(&e, m, "{m} missing in English");
            assert_ne!(&i, m, "{m} missing in Indonesian");
            assert_ne!(e, i, "{m} is not translated");
        }
        assert!(message("id-ID", "error-wrong-key", &[]).starts_with("Kunci"));
        assert_eq!(message("en", "no-such-message", &[]), "no-such-message");
    }
}
