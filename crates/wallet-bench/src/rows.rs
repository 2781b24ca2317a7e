//! The rows a run prints: a table for people, or one JSON object per row (`--json`).

use serde_json::{Map, Value, json};

/// One measurement, and what it is compared with.
pub(crate) struct Row {
    pub(crate) name: String,
    /// Our time per operation, in microseconds (`None` for rows that are not times).
    pub(crate) ours_us: Option<f64>,
    /// What it is compared with: a peer, the floor or the bare transport.
    pub(crate) other: Option<String>,
    pub(crate) other_us: Option<f64>,
    pub(crate) target: Option<String>,
    pub(crate) met: Option<bool>,
    /// More figures of the row (rates, percentiles, bytes), shown after the times.
    pub(crate) extra: Vec<(&'static str, Value)>,
}

impl Row {
    /// A row timing ours alone.
    pub(crate) fn ours(name: impl Into<String>, ours_us: Option<f64>) -> Self {
        Self {
            name: name.into(),
            ours_us,
            other: None,
            other_us: None,
            target: None,
            met: None,
            extra: Vec::new(),
        }
    }

    /// A row comparing ours with `other`.
    pub(crate) fn versus(
        name: impl Into<String>,
        ours_us: f64,
        other: &str,
        other_us: f64,
    ) -> Self {
        Self {
            other: Some(other.to_owned()),
            other_us: Some(other_us),
            ..Self::ours(name, Some(ours_us))
        }
    }

    /// `other_us / ours_us`: above 1 when ours is faster.
    pub(crate) fn ratio(&self) -> Option<f64> {
        match (self.ours_us, self.other_us) {
            (Some(ours), Some(other)) if ours > 0.0 => Some(other / ours),
            _ => None,
        }
    }

    /// Sets the target, and whether it was met.
    pub(crate) fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = Some(target.into());
        self.met = Some(met);
        self
    }

    /// Adds a figure.
    pub(crate) fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.extra.push((key, value.into()));
        self
    }

    fn json(&self) -> Value {
        let mut object = Map::new();
        object.insert("name".into(), json!(self.name));
        object.insert("ours_us".into(), json!(self.ours_us.map(round)));
        object.insert("other".into(), json!(self.other));
        object.insert("other_us".into(), json!(self.other_us.map(round)));
        object.insert("ratio".into(), json!(self.ratio().map(round)));
        object.insert("target".into(), json!(self.target));
        object.insert("met".into(), json!(self.met));
        for (key, value) in &self.extra {
            object.insert((*key).into(), value.clone());
        }
        Value::Object(object)
    }

    fn text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(ours) = self.ours_us {
            parts.push(format!("{ours:.1} us"));
        }
        if let (Some(other), Some(other_us), Some(ratio)) =
            (&self.other, self.other_us, self.ratio())
        {
            parts.push(format!("vs {other} {other_us:.1} us = {ratio:.2}x"));
        }
        for (key, value) in &self.extra {
            parts.push(format!("{key} {value}"));
        }
        if let (Some(target), Some(met)) = (&self.target, self.met) {
            parts.push(format!("({}: {target})", if met { "ok" } else { "MISSED" }));
        }
        format!("{:<48}  {}", self.name, parts.join(", "))
    }
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// How rows are printed.
#[derive(Clone, Copy)]
pub(crate) enum Output {
    Table,
    Json,
}

impl Output {
    pub(crate) fn header(self) {
        if let Self::Table = self {
            println!("{:<48}  result", "benchmark");
            println!("{}  {}", "-".repeat(48), "-".repeat(40));
        }
    }

    pub(crate) fn print(self, row: &Row) {
        match self {
            Self::Table => println!("{}", row.text()),
            Self::Json => println!("{}", row.json()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_prints_the_json_fields_the_readme_documents() {
        let row = Row::versus("fake create_invoice", 40.0, "cdk-fake-wallet", 100.0)
            .target("ours >= 1.5x faster", true)
            .with("rounds", 10);
        let value = row.json();
        for key in [
            "name", "ours_us", "other", "other_us", "ratio", "target", "met",
        ] {
            assert!(value.get(key).is_some(), "{key} missing from {value}");
        }
        assert_eq!(value["ratio"], json!(2.5));
        assert_eq!(value["met"], json!(true));
        assert_eq!(value["rounds"], json!(10));
        let alone = Row::ours("heap per open invoice", None).json();
        assert_eq!(alone["ratio"], Value::Null);
        assert_eq!(alone["other"], Value::Null);
    }
}
