//! Parameters by name or position, and Core Lightning's amount syntax.

use serde_json::Value;

use crate::rpc::RpcError;

/// A method's parameters, given as an object (cln-rpc) or a positional array (lightning-cli).
pub(crate) struct Params {
    named: serde_json::Map<String, Value>,
}

impl Params {
    /// Reads `params` for a method whose parameters are `names`, in order.
    pub(crate) fn new(params: Value, names: &[&str]) -> Result<Self, RpcError> {
        let named = match params {
            Value::Object(object) => {
                if let Some(unknown) = object.keys().find(|key| !names.contains(&key.as_str())) {
                    return Err(RpcError::new(
                        -32602,
                        format!("unknown parameter: {unknown}"),
                    ));
                }
                object
            }
            Value::Array(values) => {
                if values.len() > names.len() {
                    return Err(RpcError::new(-32602, "too many parameters"));
                }
                names
                    .iter()
                    .zip(values)
                    .filter(|(_, value)| !value.is_null())
                    .map(|(name, value)| ((*name).to_owned(), value))
                    .collect()
            }
            Value::Null => serde_json::Map::new(),
            _ => return Err(RpcError::new(-32600, "Expected array or object for params")),
        };
        Ok(Self { named })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.named.get(name).filter(|value| !value.is_null())
    }

    pub(crate) fn required(&self, name: &str) -> Result<&Value, RpcError> {
        self.get(name)
            .ok_or_else(|| RpcError::new(-32602, format!("missing required parameter: {name}")))
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, RpcError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(RpcError::param(name, "should be a string")),
        }
    }

    pub(crate) fn required_string(&self, name: &str) -> Result<String, RpcError> {
        self.required(name)?;
        self.string(name).map(Option::unwrap_or_default)
    }

    pub(crate) fn u64(&self, name: &str) -> Result<Option<u64>, RpcError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
                .map(Some)
                .ok_or_else(|| RpcError::param(name, "should be an unsigned 64 bit integer")),
        }
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, RpcError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) if text == "true" || text == "false" => {
                Ok(Some(text == "true"))
            }
            Some(_) => Err(RpcError::param(name, "should be 'true' or 'false'")),
        }
    }

    /// An amount: an integer in msat, or a string with `msat`, `sat` or `btc`.
    pub(crate) fn msat(&self, name: &str) -> Result<Option<u64>, RpcError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => parse_msat(value)
                .map(Some)
                .ok_or_else(|| RpcError::param(name, "should be a millisatoshi amount")),
        }
    }
}

/// Core Lightning's amount syntax: `1000`, `"1000msat"`, `"1sat"`, `"0.00000001btc"`.
pub(crate) fn parse_msat(value: &Value) -> Option<u64> {
    if let Some(msat) = value.as_u64() {
        return Some(msat);
    }
    let text = value.as_str()?.trim();
    if let Some(msat) = text.strip_suffix("msat") {
        return msat.parse().ok();
    }
    if let Some(sat) = text.strip_suffix("sat") {
        return sat.parse::<u64>().ok()?.checked_mul(1_000);
    }
    if let Some(btc) = text.strip_suffix("btc") {
        let (whole, fraction) = btc.split_once('.').unwrap_or((btc, ""));
        if fraction.len() > 11 || !fraction.bytes().all(|digit| digit.is_ascii_digit()) {
            return None;
        }
        let padded: String = fraction
            .chars()
            .chain(std::iter::repeat('0'))
            .take(11)
            .collect();
        return whole
            .parse::<u64>()
            .ok()?
            .checked_mul(100_000_000_000)?
            .checked_add(padded.parse::<u64>().ok()?);
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn amounts_use_core_lightnings_syntax() {
        assert_eq!(parse_msat(&json!(1000)), Some(1000));
        assert_eq!(parse_msat(&json!("1000msat")), Some(1000));
        assert_eq!(parse_msat(&json!("2sat")), Some(2000));
        assert_eq!(parse_msat(&json!("0.00000001btc")), Some(1000));
        assert_eq!(parse_msat(&json!("1btc")), Some(100_000_000_000));
        assert_eq!(parse_msat(&json!("lots")), None);
        assert_eq!(parse_msat(&json!(-1)), None);
    }

    #[test]
    fn positional_and_named_parameters_read_the_same() {
        let named = Params::new(json!({"label": "a", "expiry": 5}), &["label", "expiry"]).unwrap();
        let positional = Params::new(json!(["a", 5]), &["label", "expiry"]).unwrap();
        for params in [named, positional] {
            assert_eq!(params.string("label").unwrap().as_deref(), Some("a"));
            assert_eq!(params.u64("expiry").unwrap(), Some(5));
        }
        assert!(Params::new(json!({"nope": 1}), &["label"]).is_err());
        assert_eq!(
            Params::new(json!({}), &["label"])
                .unwrap()
                .required("label")
                .unwrap_err()
                .code,
            -32602
        );
    }
}
