//! Spoiling a well-formed JSON answer the ways a broken or hostile server would.

use serde_json::Value;

use crate::case::Class;

/// The payment hash every "record of another hash" carries.
pub(crate) const OTHER_HASH: &str =
    "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";

/// `answer` spoiled as `class` says, for the classes that keep JSON's shape.
pub(crate) fn spoiled(answer: &Value, class: Class) -> Value {
    match class {
        Class::WrongTypes => map(answer, &|leaf| match leaf {
            Value::Number(number) => Value::String(number.to_string()),
            Value::String(_) => Value::from(7),
            Value::Bool(flag) => Value::String(flag.to_string()),
            other => other.clone(),
        }),
        Class::MissingFields => emptied(answer),
        Class::HugeNumbers => map(answer, &|leaf| match leaf {
            Value::Number(_) => Value::from(u64::MAX),
            other => other.clone(),
        }),
        Class::NegativeNumbers => map(answer, &|leaf| match leaf {
            Value::Number(_) => Value::from(-1_000),
            other => other.clone(),
        }),
        Class::OtherHash => map(answer, &|leaf| match leaf {
            Value::String(text) if is_hash(text) => Value::String(OTHER_HASH.to_owned()),
            other => other.clone(),
        }),
        _ => answer.clone(),
    }
}

fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Every leaf of `value` through `leaf`; objects and arrays keep their shape.
fn map(value: &Value, leaf: &dyn Fn(&Value) -> Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, field)| (name.clone(), map(field, leaf)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|item| map(item, leaf)).collect()),
        other => leaf(other),
    }
}

/// The answer with every object inside a list emptied, and the top object without its scalar
/// fields: the lists are there, their records say nothing.
fn emptied(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(_, field)| field.is_array())
                .map(|(name, field)| {
                    let items = field.as_array().map_or_else(Vec::new, |items| {
                        items
                            .iter()
                            .map(|_| Value::Object(serde_json::Map::new()))
                            .collect()
                    });
                    (name.clone(), Value::Array(items))
                })
                .collect(),
        ),
        _ => Value::Object(serde_json::Map::new()),
    }
}

/// An error text that tries to repaint the terminal.
pub(crate) const REPAINT: &str = "\u{1b}[2J\u{1b}[H\u{1b}[32mPAYMENT SUCCEEDED\u{7}\r\u{202e}";

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn spoiling_keeps_the_shape_and_changes_the_leaves() {
        let answer = json!({"invoices": [{"amount_msat": 5, "payment_hash": "ab".repeat(32)}]});
        assert_eq!(
            spoiled(&answer, Class::WrongTypes),
            json!({"invoices": [{"amount_msat": "5", "payment_hash": 7}]})
        );
        assert_eq!(
            spoiled(&answer, Class::MissingFields),
            json!({"invoices": [{}]})
        );
        assert_eq!(
            spoiled(&answer, Class::OtherHash)["invoices"][0]["payment_hash"],
            OTHER_HASH
        );
        assert_eq!(
            spoiled(&answer, Class::NegativeNumbers)["invoices"][0]["amount_msat"],
            -1_000
        );
    }
}
