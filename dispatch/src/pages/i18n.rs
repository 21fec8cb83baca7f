//! The Fluent message files (`messages/<language>.ftl`, one per language, shared with the
//! browser front-ends), read once at start. A file is a language: adding `wo.ftl` adds Wolof
//! to every page's chooser without a code change. Each file names its language in its own
//! words (`language-name`) and says `language-dir = rtl` when it is written right to left.

use std::collections::HashMap;
use std::path::Path;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::Serialize;

/// The language every page falls back to, then [`SECOND_FALLBACK`].
pub const DEFAULT_LANG: &str = "it";
const SECOND_FALLBACK: &str = "en";

/// A language offered on the pages: its code (the file's name) and its own name.
#[derive(Debug, Clone, Serialize)]
pub struct Language {
    /// The file's name without `.ftl`, e.g. `ar`; also the page's `lang` attribute.
    pub code: String,
    /// The language's name in itself, e.g. `العربية`.
    pub name: String,
    /// `rtl` or `ltr`.
    pub dir: &'static str,
}

/// Every language's messages.
pub struct Messages {
    bundles: HashMap<String, FluentBundle<FluentResource>>,
    languages: Vec<Language>,
}

impl Messages {
    /// Reads every `*.ftl` file of `dir`. A file with syntax errors keeps its good messages and
    /// the errors are logged; a missing folder leaves the pages showing message ids.
    #[must_use]
    pub fn load(dir: &Path) -> Self {
        let mut files: Vec<_> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
                .collect(),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "no message files: pages show message ids");
                Vec::new()
            }
        };
        files.sort();
        let mut out = Self {
            bundles: HashMap::new(),
            languages: Vec::new(),
        };
        for path in files {
            let Some(code) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => out.add(code, text),
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "message file unreadable");
                }
            }
        }
        out
    }

    /// Adds (or replaces) one language from the text of its file.
    pub fn add(&mut self, code: &str, text: String) {
        let Ok(lang_id) = code.parse::<unic_langid::LanguageIdentifier>() else {
            tracing::warn!(code, "message file name is not a language code: skipped");
            return;
        };
        let resource = FluentResource::try_new(text).unwrap_or_else(|(partial, errors)| {
            tracing::warn!(
                code,
                ?errors,
                "message file has syntax errors: the rest is used"
            );
            partial
        });
        let mut bundle = FluentBundle::new_concurrent(vec![lang_id]);
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::warn!(
                code,
                ?errors,
                "message file defines an id twice: the first is used"
            );
        }
        let own = |id: &str| {
            bundle.get_message(id).and_then(|m| m.value()).map(|p| {
                let mut errors = Vec::new();
                bundle.format_pattern(p, None, &mut errors).into_owned()
            })
        };
        let name = own("language-name").unwrap_or_else(|| code.to_owned());
        let dir = if own("language-dir").is_some_and(|d| d.trim() == "rtl") {
            "rtl"
        } else {
            "ltr"
        };
        self.languages.retain(|l| l.code != code);
        self.languages.push(Language {
            code: code.to_owned(),
            name,
            dir,
        });
        self.languages.sort_by(|a, b| a.code.cmp(&b.code));
        self.bundles.insert(code.to_owned(), bundle);
    }

    /// The languages offered, by code.
    #[must_use]
    pub fn languages(&self) -> &[Language] {
        &self.languages
    }

    /// The offered language with this code.
    #[must_use]
    pub fn language(&self, code: &str) -> Option<&Language> {
        self.languages.iter().find(|l| l.code == code)
    }

    /// The best offered language for an `Accept-Language` header, if any matches (exact tag
    /// first, then the primary subtag: `fr-CA` gets `fr`).
    #[must_use]
    pub fn negotiate(&self, accept_language: &str) -> Option<&Language> {
        let mut wanted: Vec<(f32, String)> = accept_language
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim().to_ascii_lowercase();
                if tag.is_empty() || tag == "*" {
                    return None;
                }
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                    .unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        // Stable: equal weights keep the browser's order.
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        wanted.iter().find_map(|(_, tag)| {
            self.language(tag).or_else(|| {
                let primary = tag.split(['-', '_']).next().unwrap_or(tag);
                self.language(primary)
            })
        })
    }

    /// The message `id` in `lang`, else in Italian, else in English, else the id itself.
    /// `args` are the message's variables (numbers select plural forms).
    #[must_use]
    pub fn text(&self, lang: &str, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        for code in [lang, DEFAULT_LANG, SECOND_FALLBACK] {
            let Some(bundle) = self.bundles.get(code) else {
                continue;
            };
            let (msg_id, attr) = id.split_once('.').map_or((id, None), |(m, a)| (m, Some(a)));
            let Some(message) = bundle.get_message(msg_id) else {
                continue;
            };
            let pattern = match attr {
                Some(a) => message.get_attribute(a).map(|a| a.value()),
                None => message.value(),
            };
            let Some(pattern) = pattern else { continue };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::debug!(lang = code, id, ?errors, "message formatted with errors");
            }
            return text.into_owned();
        }
        id.to_owned()
    }
}

/// A template argument as a Fluent value: numbers stay numbers (plural forms), the rest is text.
#[must_use]
pub fn fluent_value(v: &minijinja::Value) -> FluentValue<'static> {
    if let Ok(n) = i64::try_from(v.clone()) {
        FluentValue::from(n)
    } else if let Ok(n) = f64::try_from(v.clone()) {
        FluentValue::from(n)
    } else {
        FluentValue::from(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages() -> Messages {
        let mut m = Messages {
            bundles: HashMap::new(),
            languages: Vec::new(),
        };
        m.add(
            "it",
            "language-name = Italiano\nhello = Ciao { $name }\nonly-it = solo\nrides = { $count ->\n [one] una corsa\n *[other] { $count } corse\n}\n".into(),
        );
        m.add(
            "en",
            "language-name = English\nhello = Hello { $name }\nonly-en = only\n".into(),
        );
        m.add(
            "ar",
            "language-name = العربية\nlanguage-dir = rtl\nhello = مرحبا { $name }\n".into(),
        );
        m
    }

    #[test]
    fn a_language_is_a_file_with_its_own_name_and_direction() {
        let m = messages();
        let codes: Vec<_> = m
            .languages()
            .iter()
            .map(|l| (l.code.as_str(), l.name.as_str(), l.dir))
            .collect();
        assert_eq!(
            codes,
            [
                ("ar", "العربية", "rtl"),
                ("en", "English", "ltr"),
                ("it", "Italiano", "ltr")
            ]
        );
    }

    #[test]
    fn messages_fall_back_to_italian_then_english_then_the_id() {
        let m = messages();
        let mut args = FluentArgs::new();
        args.set("name", "Awa");
        assert_eq!(
            m.text("ar", "hello", Some(&args)),
            "مرحبا \u{2068}Awa\u{2069}"
        );
        assert_eq!(m.text("ar", "only-it", None), "solo");
        assert_eq!(m.text("ar", "only-en", None), "only");
        assert_eq!(m.text("ar", "missing-id", None), "missing-id");
        let mut n = FluentArgs::new();
        n.set("count", 1);
        assert_eq!(m.text("it", "rides", Some(&n)), "una corsa");
        n.set("count", 3);
        assert_eq!(m.text("it", "rides", Some(&n)), "\u{2068}3\u{2069} corse");
    }

    #[test]
    fn the_browser_language_is_negotiated_by_weight_then_primary_subtag() {
        let m = messages();
        let code = |h: &str| m.negotiate(h).map(|l| l.code.clone());
        assert_eq!(
            code("fr-FR,fr;q=0.9,ar;q=0.8,en;q=0.5").as_deref(),
            Some("ar")
        );
        assert_eq!(code("en-GB").as_deref(), Some("en"));
        assert_eq!(code("de, *;q=0.1"), None);
        assert_eq!(code("it;q=0.2, en;q=0.9").as_deref(), Some("en"));
    }
}
