//! Reading only what a concise answer shows (issue 18). A concise view reads a dozen fields of
//! an upstream answer; building a `serde_json::Value` of the whole answer (and dropping it) was
//! over half of a `tools/call`'s instructions. [`Needs`] is what a result shape reads, derived
//! from its views; [`parse`] builds a tree of only that, skipping the rest while it parses.
//! Whatever a view reads is kept whole, so the concise answer is the same as from the full tree
//! (tested against the sandbox's answers).
//!
//! Written by hand: serde_json has no partial `Value` deserializer; this is a `DeserializeSeed`
//! over serde_json's own parser.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// What of a JSON value is read: all of it, or these keys of an object (of each object of an
/// array, at any depth of arrays), each with what of its value is read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Needs {
    All,
    Keys(BTreeMap<String, Needs>),
}

impl Needs {
    pub fn none() -> Self {
        Needs::Keys(BTreeMap::new())
    }

    /// Adds what `path` (a key path from here) leads to.
    pub fn add(&mut self, path: &[String], needs: Needs) {
        let Needs::Keys(keys) = self else { return };
        match path.split_first() {
            None => *self = std::mem::replace(self, Needs::All).merged(needs),
            Some((first, rest)) => {
                let entry = keys.entry(first.clone()).or_insert_with(Needs::none);
                if rest.is_empty() {
                    *entry = std::mem::replace(entry, Needs::All).merged(needs);
                } else {
                    entry.add(rest, needs);
                }
            }
        }
    }

    /// What either reads.
    pub fn merged(self, other: Needs) -> Needs {
        match (self, other) {
            (Needs::Keys(mut a), Needs::Keys(b)) => {
                for (key, needs) in b {
                    let merged = match a.remove(&key) {
                        Some(mine) => mine.merged(needs),
                        None => needs,
                    };
                    a.insert(key, merged);
                }
                Needs::Keys(a)
            }
            _ => Needs::All,
        }
    }
}

/// `body` as JSON, with only what `needs` reads; `None` when it is not JSON.
pub(crate) fn parse(body: &[u8], needs: &Needs) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Pruned(needs).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

struct Pruned<'a>(&'a Needs);

impl<'de> DeserializeSeed<'de> for Pruned<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.0 {
            Needs::All => Value::deserialize(deserializer),
            keys @ Needs::Keys(_) => deserializer.deserialize_any(PrunedVisitor(keys)),
        }
    }
}

struct PrunedVisitor<'a>(&'a Needs);

impl<'de> Visitor<'de> for PrunedVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Pruned(self.0).deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Pruned(self.0))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Needs::Keys(keys) = self.0 else {
            unreachable!("`All` is deserialized as a whole Value")
        };
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key()? {
            match keys.get(key.as_ref()) {
                Some(needs) => {
                    let value = map.next_value_seed(Pruned(needs))?;
                    out.insert(key.into_owned(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// An object key, borrowed from the input when it has no escapes (most keys are skipped).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(pairs: &[(&str, Needs)]) -> Needs {
        Needs::Keys(
            pairs
                .iter()
                .map(|(k, n)| ((*k).to_owned(), n.clone()))
                .collect(),
        )
    }

    #[test]
    fn only_what_is_needed_is_kept_through_arrays_and_nesting() {
        let needs = keys(&[
            ("id", Needs::All),
            ("customer", keys(&[("name", Needs::All)])),
            ("messages", keys(&[("body_text", Needs::All)])),
        ]);
        let body = br#"{"id": 7, "uri": "/x", "customer": {"id": 1, "name": "Ava", "meta": {"a": [1, 2]}},
            "requester": {"id": 1, "name": "Ava"}, "messages": [{"body_text": "hi", "body_html": "<p>hi</p>"},
            {"body_html": "x"}], "esc\"aped": 1}"#;
        assert_eq!(
            parse(body, &needs).unwrap(),
            json!({"id": 7, "customer": {"name": "Ava"}, "messages": [{"body_text": "hi"}, {}]})
        );
        // A top-level array: each item.
        assert_eq!(
            parse(br#"[{"id": 1, "x": 2}, 3, null]"#, &needs).unwrap(),
            json!([{"id": 1}, 3, null])
        );
        // A needed key whose value is not an object is kept as it is.
        assert_eq!(
            parse(br#"{"customer": "Ava", "id": 1.5}"#, &needs).unwrap(),
            json!({"customer": "Ava", "id": 1.5})
        );
        assert_eq!(
            parse(br#"{"id": 7}"#, &Needs::All).unwrap(),
            json!({"id": 7})
        );
    }

    #[test]
    fn what_is_not_json_is_refused_even_where_it_is_skipped() {
        let needs = keys(&[("id", Needs::All)]);
        assert_eq!(parse(b"", &needs), None);
        assert_eq!(parse(b"not json", &needs), None);
        assert_eq!(parse(br#"{"id": 1, "skipped": [1, }"#, &needs), None);
        assert_eq!(parse(br#"{"id": 1} trailing"#, &needs), None);
    }

    #[test]
    fn needs_merge_to_what_either_reads() {
        let mut needs = Needs::none();
        needs.add(&["a".into(), "b".into()], Needs::All);
        needs.add(&["a".into(), "c".into()], Needs::All);
        needs.add(&["d".into()], keys(&[("e", Needs::All)]));
        needs.add(&["d".into()], Needs::All);
        assert_eq!(
            needs,
            keys(&[
                ("a", keys(&[("b", Needs::All), ("c", Needs::All)])),
                ("d", Needs::All)
            ])
        );
        let mut everything = Needs::none();
        everything.add(&[], Needs::All);
        assert_eq!(everything, Needs::All);
    }
}
