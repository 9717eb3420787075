//! JSON lines: pull one string field out of a line's JSON object without building the
//! whole value (what a report reads when its config names a text field).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The text of `field` in the JSON object on `line`, borrowed when it has no escapes;
/// otherwise the reason the line is invalid. Like Python's `json.loads(line)[field]`, the
/// last of duplicate keys wins; unlike it, NaN/Infinity and lone-surrogate escapes are
/// rejected (they are not JSON, and a lone surrogate is not text).
pub fn json_text_field<'a>(line: &'a [u8], field: &str) -> Result<Cow<'a, str>, String> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let found = TopSeed { field }
        .deserialize(&mut de)
        .and_then(|f| de.end().map(|_| f));
    match found {
        Ok(Found::Text(s)) => Ok(s),
        Ok(Found::Missing) => Err(format!("missing field {field:?}")),
        Ok(Found::Other(kind)) => Err(format!("field {field:?} is {kind}, not a string")),
        Ok(Found::NotObject(kind)) => Err(format!("the line is a JSON {kind}, not an object")),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

enum Found<'a> {
    Text(Cow<'a, str>),
    Missing,
    Other(&'static str),
    NotObject(&'static str),
}

/// A string that borrows from the input when it can.
struct MaybeBorrowed<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for MaybeBorrowed<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrOrKind).and_then(|v| match v {
            Ok(s) => Ok(MaybeBorrowed(s)),
            Err(_) => Err(de::Error::custom("key is not a string")),
        })
    }
}

/// Visits any value: a string comes back as text, anything else as the name of its kind
/// (after being consumed).
struct StrOrKind;

impl<'de> Visitor<'de> for StrOrKind {
    type Value = Result<Cow<'de, str>, &'static str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        // With arbitrary_precision, serde_json hands numbers over as a one-entry map.
        let mut number = false;
        while let Some((k, _)) = m.next_entry::<MaybeBorrowed, IgnoredAny>()? {
            number = k.0 == "$serde_json::private::Number";
        }
        Ok(Err(if number { "a number" } else { "an object" }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err("an array"))
    }
}

struct TopSeed<'f> {
    field: &'f str,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Found<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Found<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

struct FieldValue;

impl<'de> DeserializeSeed<'de> for FieldValue {
    type Value = Result<Cow<'de, str>, &'static str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(StrOrKind)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Found<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Found<'de>, A::Error> {
        let mut found = Found::Missing;
        let mut is_number = false;
        while let Some(k) = m.next_key::<MaybeBorrowed>()? {
            if k.0 == "$serde_json::private::Number" {
                is_number = true;
                m.next_value::<IgnoredAny>()?;
            } else if k.0 == self.field {
                found = match m.next_value_seed(FieldValue)? {
                    Ok(s) => Found::Text(s),
                    Err(kind) => Found::Other(kind),
                };
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(if is_number {
            Found::NotObject("number")
        } else {
            found
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Found<'de>, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::NotObject("array"))
    }
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("string"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("string"))
    }
    fn visit_unit<E>(self) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Found<'de>, E> {
        Ok(Found::NotObject("number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_field_extraction() {
        fn f(s: &str) -> Result<Cow<'_, str>, String> {
            json_text_field(s.as_bytes(), "text")
        }
        assert_eq!(f(r#"{"id": 1, "text": "a 1"}"#).unwrap(), "a 1");
        assert!(matches!(f(r#"{"text": "plain"}"#).unwrap(), Cow::Borrowed(_)));
        assert_eq!(
            f(r#"{"text": "e\u00e9\n", "x": [1, {"y": null}]}"#).unwrap(),
            "eé\n"
        );
        assert_eq!(f(r#"{"text": "first", "text": "last"}"#).unwrap(), "last");
        assert_eq!(f(r#"{"id": 1}"#).unwrap_err(), "missing field \"text\"");
        assert_eq!(
            f(r#"{"text": null}"#).unwrap_err(),
            "field \"text\" is null, not a string"
        );
        assert_eq!(
            f(r#"{"text": 12.5}"#).unwrap_err(),
            "field \"text\" is a number, not a string"
        );
        assert_eq!(
            f(r#"{"text": [1]}"#).unwrap_err(),
            "field \"text\" is an array, not a string"
        );
        assert_eq!(
            f(r#"[1, 2]"#).unwrap_err(),
            "the line is a JSON array, not an object"
        );
        assert_eq!(f(r#"7"#).unwrap_err(), "the line is a JSON number, not an object");
        assert!(f(r#"{"text": "a"} x"#)
            .unwrap_err()
            .starts_with("invalid JSON: trailing characters"));
        assert!(f(r#"{"text": "a""#).unwrap_err().starts_with("invalid JSON"));
        assert!(f(r#"{"text": "\ud800"}"#)
            .unwrap_err()
            .starts_with("invalid JSON"));
        assert!(f("").unwrap_err().starts_with("invalid JSON"));
        assert!(json_text_field(b"{\"text\": \"\xff\"}", "text")
            .unwrap_err()
            .starts_with("invalid JSON"));
    }
}
