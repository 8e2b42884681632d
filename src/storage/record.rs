//! Typed rows: a struct declared once with [`record!`] yields its column
//! list, its decoder and its insert binding, so a query, the code reading
//! its answer and an INSERT cannot drift apart.
//!
//! Decoding is strict: a column the query did not select, a NULL where the
//! field is not an `Option`, or a value of another type is a
//! [`StorageError::Column`] naming the column, never an empty string.

use super::{Row, StorageError, Value};

/// A struct read from (and written to) rows; implemented by [`record!`].
pub trait Record: Sized {
    /// The table the record lives in.
    const TABLE: &'static str;
    /// The columns, in field order, as the database names them.
    const COLUMNS: &'static [&'static str];
    /// Whether each field may be NULL (is an `Option`), in field order.
    const NULLABLE: &'static [bool];
    /// The SQL type each field's column has in the migrations, in field order.
    const SQL_TYPES: &'static [&'static str];

    fn from_row(row: &Row) -> Result<Self, StorageError>;

    /// The field values in [`Record::COLUMNS`] order.
    fn values(&self) -> Vec<Value>;

    /// The select list, each column quoted and prefixed by `alias.` when
    /// one is given (`"n"."name"`).
    fn select_list(alias: Option<&str>) -> String {
        Self::COLUMNS
            .iter()
            .map(|c| match alias {
                Some(a) => format!("{a}.\"{c}\""),
                None => format!("\"{c}\""),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `SELECT <columns> FROM <table> WHERE <condition>`.
    fn select_where(condition: &str) -> String {
        format!(
            "SELECT {} FROM {} WHERE {condition}",
            Self::select_list(None),
            Self::TABLE
        )
    }

    /// The INSERT statement of this record type into [`Record::TABLE`],
    /// followed by `extra_columns` the struct does not carry (derived or
    /// constant ones). A caller inserting many rows builds it once.
    fn insert_sql(extra_columns: &[&str]) -> String {
        let columns: Vec<&str> = Self::COLUMNS.iter().chain(extra_columns).copied().collect();
        let names = columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let placeholders = (1..=columns.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} ({names}) VALUES ({placeholders})",
            Self::TABLE
        )
    }

    /// The arguments of [`Record::insert_sql`]: the fields, then `extra`
    /// values in the order of its extra columns.
    fn insert_args(&self, extra: Vec<Value>) -> Vec<Value> {
        let mut args = self.values();
        args.extend(extra);
        args
    }

    /// An INSERT of this record, with `extra` columns the struct does not
    /// carry; the statement and its arguments come from the same list, so
    /// their counts agree.
    fn insert(&self, extra: Vec<(&'static str, Value)>) -> (String, Vec<Value>) {
        let (columns, values): (Vec<&str>, Vec<Value>) = extra.into_iter().unzip();
        (Self::insert_sql(&columns), self.insert_args(values))
    }
}

/// A field type a [`Value`] decodes into.
pub trait FromValue: Sized {
    const NULLABLE: bool = false;
    /// The column type the migrations declare for this field type.
    const SQL_TYPE: &'static str;
    /// Decodes `value`, or says what is wrong with it.
    fn from_value(value: &Value) -> Result<Self, String>;
}

/// A field type that encodes into a [`Value`] (a typed NULL for `None`).
pub trait ToValue {
    fn to_value(&self) -> Value;
}

fn found(value: &Value) -> &'static str {
    match value {
        Value::Null | Value::NullInt | Value::NullBool | Value::NullFloat => "NULL",
        Value::Text(_) => "text",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Bool(_) => "a boolean",
    }
}

impl FromValue for String {
    const SQL_TYPE: &'static str = "TEXT";
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {}", found(other))),
        }
    }
}

impl FromValue for i64 {
    const SQL_TYPE: &'static str = "BIGINT";
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected an integer, found {}", found(other))),
        }
    }
}

impl FromValue for f64 {
    const SQL_TYPE: &'static str = "DOUBLE PRECISION";
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {}", found(other))),
        }
    }
}

impl FromValue for bool {
    const SQL_TYPE: &'static str = "BOOLEAN";
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(*b),
            // SQLite reports a BOOLEAN column read through an expression
            // (COALESCE, CASE) as its stored integer.
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            other => Err(format!("expected a boolean, found {}", found(other))),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const NULLABLE: bool = true;
    const SQL_TYPE: &'static str = T::SQL_TYPE;
    fn from_value(value: &Value) -> Result<Self, String> {
        if value.is_null() {
            Ok(None)
        } else {
            T::from_value(value).map(Some)
        }
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}
impl ToValue for Option<String> {
    fn to_value(&self) -> Value {
        self.as_ref()
            .map_or(Value::Null, |s| Value::Text(s.clone()))
    }
}
impl ToValue for Option<i64> {
    fn to_value(&self) -> Value {
        self.map_or(Value::NullInt, Value::Int)
    }
}
impl ToValue for Option<f64> {
    fn to_value(&self) -> Value {
        self.map_or(Value::NullFloat, Value::Float)
    }
}
impl ToValue for Option<bool> {
    fn to_value(&self) -> Value {
        self.map_or(Value::NullBool, Value::Bool)
    }
}

impl Row {
    /// Decodes column `name` strictly (see [`FromValue`]): absent, NULL
    /// where not optional, or of another type is an error naming it.
    pub fn decode<T: FromValue>(&self, name: &str) -> Result<T, StorageError> {
        let value = self.get(name).ok_or_else(|| StorageError::Column {
            column: name.to_owned(),
            problem: "was not selected by the query".into(),
        })?;
        T::from_value(value).map_err(|problem| StorageError::Column {
            column: name.to_owned(),
            problem,
        })
    }
}

/// Declares a struct read from rows of one table: one field list gives the
/// struct, [`Record::COLUMNS`], the strict decoder and the insert binding.
/// A field whose column is named differently says so with
/// `#[column = "name"]`.
///
/// ```ignore
/// record! {
///     /// A node version of a configuration tree.
///     #[derive(Clone, Debug)]
///     pub struct Node in "sn_cdm_node" {
///         pub sys_id: String,
///         #[column = "parent_main_id"]
///         pub parent: Option<i64>,
///     }
/// }
/// ```
#[macro_export]
macro_rules! record {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:literal {
            $(
                $(#[doc = $doc:literal])*
                $(#[column = $column:literal])?
                $fvis:vis $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[doc = $doc])*
                $fvis $field: $ty,
            )*
        }

        impl $crate::storage::Record for $name {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] =
                &[$($crate::record!(@column $field $($column)?)),*];
            const NULLABLE: &'static [bool] =
                &[$(<$ty as $crate::storage::FromValue>::NULLABLE),*];
            const SQL_TYPES: &'static [&'static str] =
                &[$(<$ty as $crate::storage::FromValue>::SQL_TYPE),*];

            fn from_row(
                row: &$crate::storage::Row,
            ) -> ::std::result::Result<Self, $crate::storage::StorageError> {
                Ok($name {
                    $($field: row.decode($crate::record!(@column $field $($column)?))?,)*
                })
            }

            fn values(&self) -> ::std::vec::Vec<$crate::storage::Value> {
                vec![$($crate::storage::ToValue::to_value(&self.$field)),*]
            }
        }
    };
    (@column $field:ident $column:literal) => { $column };
    (@column $field:ident) => { stringify!($field) };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::record! {
        #[derive(Debug, PartialEq)]
        struct Sample in "sample" {
            /// Always set.
            id: String,
            #[column = "type"]
            kind: Option<String>,
            level: i64,
            secure: bool,
        }
    }

    fn row(columns: &[(&str, Value)]) -> Row {
        Row {
            columns: columns
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn one_field_list_gives_columns_decoder_and_insert() {
        assert_eq!(Sample::COLUMNS, ["id", "type", "level", "secure"]);
        assert_eq!(Sample::NULLABLE, [false, true, false, false]);
        assert_eq!(Sample::SQL_TYPES, ["TEXT", "TEXT", "BIGINT", "BOOLEAN"]);
        let decoded = Sample::from_row(&row(&[
            ("id", Value::from("a")),
            ("type", Value::Null),
            ("level", Value::Int(2)),
            ("secure", Value::Int(1)),
        ]))
        .unwrap();
        assert_eq!(
            decoded,
            Sample {
                id: "a".into(),
                kind: None,
                level: 2,
                secure: true
            }
        );
        let (sql, args) = decoded.insert(vec![("sys_mod_count", Value::Int(0))]);
        assert_eq!(
            sql,
            "INSERT INTO sample (\"id\", \"type\", \"level\", \"secure\", \"sys_mod_count\") \
             VALUES ($1, $2, $3, $4, $5)"
        );
        assert_eq!(super::super::dialect::placeholder_count(&sql), args.len());
        assert_eq!(args[1], Value::Null);
        assert_eq!(
            Sample::select_list(Some("s")),
            "s.\"id\", s.\"type\", s.\"level\", s.\"secure\""
        );
    }

    #[test]
    fn a_missing_null_or_mistyped_column_is_an_error_naming_it() {
        let complete = [
            ("id", Value::from("a")),
            ("type", Value::from("x")),
            ("level", Value::Int(2)),
            ("secure", Value::Bool(false)),
        ];
        let with = |name: &str, value: Option<Value>| {
            let mut columns: Vec<(&str, Value)> = complete
                .iter()
                .filter(|(n, _)| *n != name)
                .cloned()
                .collect();
            if let Some(v) = value {
                columns.push((name, v));
            }
            Sample::from_row(&row(&columns))
        };
        let problem = |result: Result<Sample, StorageError>| match result {
            Err(StorageError::Column { column, problem }) => format!("{column}: {problem}"),
            other => panic!("expected a column error, got {other:?}"),
        };
        assert_eq!(
            problem(with("level", None)),
            "level: was not selected by the query"
        );
        assert_eq!(
            problem(with("level", Some(Value::from("2")))),
            "level: expected an integer, found text"
        );
        assert_eq!(
            problem(with("id", Some(Value::Null))),
            "id: expected text, found NULL"
        );
        assert_eq!(
            problem(with("secure", Some(Value::Int(7)))),
            "secure: expected a boolean, found an integer"
        );
        assert!(with("type", Some(Value::Null)).is_ok());
    }
}
