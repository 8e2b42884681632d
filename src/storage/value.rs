//! The values that cross the storage boundary, the same for both databases.

/// One SQL value. Nulls carry their column kind because PostgreSQL types every
/// bound parameter, so an untyped NULL cannot be written into a BIGINT column.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    NullInt,
    NullBool,
    NullFloat,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Value::Null | Value::NullInt | Value::NullBool | Value::NullFloat
        )
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            Value::Text(s) => Some(s == "true" || s == "1"),
            _ => None,
        }
    }

    /// The value as the ServiceNow-style APIs print every field: a string.
    pub fn to_display_string(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{f:.0}")
                } else {
                    f.to_string()
                }
            }
            Value::Bool(b) => b.to_string(),
            _ => String::new(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Text(s.clone())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        s.map(Value::Text).unwrap_or(Value::Null)
    }
}
impl From<Option<&str>> for Value {
    fn from(s: Option<&str>) -> Self {
        s.map(|s| Value::Text(s.to_owned())).unwrap_or(Value::Null)
    }
}
impl From<Option<i64>> for Value {
    fn from(i: Option<i64>) -> Self {
        i.map(Value::Int).unwrap_or(Value::NullInt)
    }
}

/// One result row: column names and values in select order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub columns: Vec<(String, Value)>,
}

impl Row {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The value of a column the query must have selected. Reading one it did
    /// not select is a bug in the caller: debug builds (the test suite) stop
    /// at it; release builds log it and read NULL. Typed records
    /// ([`record!`](crate::record)) make it a [`StorageError`](super::StorageError) instead.
    fn selected(&self, name: &str) -> &Value {
        match self.get(name) {
            Some(v) => v,
            None => {
                debug_assert!(false, "column {name} was not selected by the query");
                tracing::error!(column = name, "a column the query did not select was read");
                &Value::Null
            }
        }
    }

    /// A text column, or `None` when it is NULL.
    pub fn text(&self, name: &str) -> Option<String> {
        match self.selected(name) {
            Value::Text(s) => Some(s.clone()),
            v if v.is_null() => None,
            v => Some(v.to_display_string()),
        }
    }

    /// A text column that a query always selects; empty when NULL.
    pub fn string(&self, name: &str) -> String {
        self.text(name).unwrap_or_default()
    }

    /// An integer column, or `None` when it is NULL.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.selected(name) {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            v if v.is_null() => None,
            v => {
                debug_assert!(false, "column {name} holds {v:?}, not an integer");
                tracing::error!(
                    column = name,
                    "a column was read as an integer but holds another type"
                );
                None
            }
        }
    }

    /// A boolean column; false when NULL.
    pub fn bool(&self, name: &str) -> bool {
        match self.selected(name) {
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            v if v.is_null() => false,
            v => {
                debug_assert!(false, "column {name} holds {v:?}, not a boolean");
                tracing::error!(
                    column = name,
                    "a column was read as a boolean but holds another type"
                );
                false
            }
        }
    }
}
