//! The S3 Select SQL dialect, rewritten onto DataFusion's SQL: parsed by DataFusion's own
//! parser (sqlparser), then adjusted where S3 Select means something else.
//!
//! - `FROM S3Object [AS] s` names the registered object table; `s.col`, `s."Col"`, `col`,
//!   positional `_N` and JSON paths `s.a.b[0]` (0-indexed) resolve to its columns, unquoted
//!   names case-insensitively.
//! - CSV values are text: where one is compared with a number, used in arithmetic or summed,
//!   it is read as a number with `TRY_CAST`, so a value that is not one makes its row not
//!   match instead of failing the query. `CAST` is `TRY_CAST` for the same reason.
//! - `IS [NOT] MISSING` is `IS [NOT] NULL`; `UTCNOW()`, `DATE_ADD`, `DATE_DIFF` and
//!   `TO_STRING` become DataFusion expressions; unnamed results are named `_1.._N`.

use std::ops::ControlFlow;

use datafusion::arrow::datatypes::DataType;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, ObjectNamePart, SelectItem,
    SetExpr, Statement, Subscript, TableFactor, Value, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use super::SelectError;
use super::source::{TABLE, Table};

/// Longest expression S3 accepts (ExpressionTooLong beyond).
const MAX_EXPRESSION_BYTES: usize = 256 * 1024;

/// The DataFusion statement for S3 Select `expression` over `table`.
pub(crate) fn rewrite(expression: &str, table: &Table) -> Result<Statement, SelectError> {
    if expression.len() > MAX_EXPRESSION_BYTES {
        return Err(SelectError::bad_request(
            "ExpressionTooLong",
            format!("the SQL expression is over {MAX_EXPRESSION_BYTES} bytes"),
        ));
    }
    let text = missing_as_null(expression)?;
    let mut statements = Parser::new(&GenericDialect {})
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| SelectError::bad_request("ParseUnexpectedToken", e.to_string()))?;
    if statements.len() != 1 {
        return Err(unsupported("an S3 Select expression is exactly one SELECT statement"));
    }
    let mut statement = statements.remove(0);
    let qualifier = {
        let Statement::Query(query) = &mut statement else {
            return Err(unsupported("only SELECT is supported"));
        };
        if query.with.is_some() || query.order_by.is_some() || query.fetch.is_some() {
            return Err(unsupported("WITH, ORDER BY and FETCH are not part of S3 Select"));
        }
        let SetExpr::Select(select) = &mut *query.body else {
            return Err(unsupported("only a single SELECT is supported (no UNION, VALUES)"));
        };
        if select.from.len() != 1 || !select.from[0].joins.is_empty() {
            return Err(SelectError::bad_request(
                "ParseSelectMissingFrom",
                "S3 Select reads FROM S3Object (one table, no joins)",
            ));
        }
        let qualifier = match &mut select.from[0].relation {
            TableFactor::Table {
                name, alias, args: None, ..
            } if is_s3object(name) => {
                *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(TABLE))]);
                alias.as_ref().map(|a| a.name.clone())
            }
            _ => {
                return Err(SelectError::bad_request(
                    "ParseSelectMissingFrom",
                    "S3 Select reads FROM S3Object [AS alias]",
                ));
            }
        };
        if select.into.is_some() {
            return Err(unsupported("SELECT … INTO is not part of S3 Select"));
        }
        name_unnamed_results(&mut select.projection);
        qualifier
    };
    let resolver = Resolver { table, qualifier };
    let mut failure = None;
    let _ = visit_expressions_mut(&mut statement, |expr| match resolver.rewrite(expr) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(statement),
    }
}

fn unsupported(message: &str) -> SelectError {
    SelectError::bad_request("UnsupportedSqlOperation", message)
}

fn is_s3object(name: &ObjectName) -> bool {
    matches!(&name.0[..], [ObjectNamePart::Identifier(id)] if id.value.eq_ignore_ascii_case("s3object"))
}

/// Token-level dialect: `IS [NOT] MISSING` → `IS [NOT] NULL` (a column named missing stays),
/// `S3Object[*]` (JSON's "every element") → `S3Object`, and names after a dot kept as names.
fn missing_as_null(expression: &str) -> Result<String, SelectError> {
    let tokens = Tokenizer::new(&GenericDialect {}, expression)
        .tokenize()
        .map_err(|e| SelectError::bad_request("ParseUnexpectedToken", e.to_string()))?;
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i], Token::Whitespace(_)))
        .collect();
    let keyword = |k: usize| match significant.get(k).map(|&i| &tokens[i]) {
        Some(Token::Word(w)) => Some(w.keyword),
        _ => None,
    };
    let mut out = String::with_capacity(expression.len());
    let mut skip_until = 0;
    for (k, &i) in significant.iter().enumerate() {
        // Whitespace before this token is kept.
        let from = if k == 0 { 0 } else { significant[k - 1] + 1 };
        if i < skip_until {
            continue;
        }
        for t in &tokens[from..i] {
            out.push_str(&t.to_string());
        }
        let token = &tokens[i];
        let after_period = k >= 1 && matches!(tokens[significant[k - 1]], Token::Period);
        match token {
            // A field name after a dot is a name even when it is a keyword (`s.user.date`);
            // backticks mark it as written without quotes (matched case-insensitively).
            Token::Word(w) if after_period && w.quote_style.is_none() => {
                out.push_str(&format!("`{}`", w.value));
                continue;
            }
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("missing") => {
                let after_is = (k >= 1 && keyword(k - 1) == Some(Keyword::IS))
                    || (k >= 2 && keyword(k - 1) == Some(Keyword::NOT) && keyword(k - 2) == Some(Keyword::IS));
                out.push_str(if after_is { "NULL" } else { &w.value });
                continue;
            }
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("s3object") => {
                let next: Vec<&Token> = significant[k + 1..].iter().take(4).map(|&j| &tokens[j]).collect();
                if matches!(next[..], [Token::LBracket, Token::Mul, Token::RBracket, ..]) {
                    if matches!(next.get(3), Some(Token::Period)) {
                        return Err(unsupported(
                            "FROM S3Object[*].path is not supported; select the path in the SELECT list",
                        ));
                    }
                    skip_until = significant[k + 3] + 1;
                }
            }
            _ => {}
        }
        out.push_str(&render(token));
    }
    Ok(out)
}

/// A token as SQL text again. sqlparser's own rendering does not re-escape what the tokenizer
/// unescaped (`'O''Brien'` would come back as `'O'Brien'`): quotes are doubled here.
fn render(token: &Token) -> String {
    match token {
        Token::SingleQuotedString(s) => format!("'{}'", s.replace('\'', "''")),
        Token::Word(w) => match w.quote_style {
            Some(q) => format!("{q}{}{q}", w.value.replace(q, &format!("{q}{q}"))),
            None => w.value.clone(),
        },
        other => other.to_string(),
    }
}

/// Names results that are not plain columns `_N` (their position), and nested paths by their
/// last field, as S3 Select does.
fn name_unnamed_results(projection: &mut [SelectItem]) {
    for (i, item) in projection.iter_mut().enumerate() {
        let SelectItem::UnnamedExpr(expr) = item else { continue };
        let name = match expr {
            Expr::Identifier(_) => continue,
            Expr::CompoundIdentifier(parts) if parts.len() <= 2 => continue,
            Expr::CompoundIdentifier(parts) => parts[parts.len() - 1].value.clone(),
            _ => format!("_{}", i + 1),
        };
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias: Ident::with_quote('"', name),
        };
    }
}

/// Resolves names against the table and applies the dialect's semantics, one expression at a
/// time (children before parents).
struct Resolver<'a> {
    table: &'a Table,
    qualifier: Option<Ident>,
}

impl Resolver<'_> {
    fn rewrite(&self, expr: &mut Expr) -> Result<(), SelectError> {
        match expr {
            // S3 Select reads one object once: no subqueries (they could join the object with
            // itself without bound, or name other tables).
            Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => {
                return Err(unsupported("subqueries are not part of S3 Select"));
            }
            Expr::Identifier(id) => {
                if let Some(column) = self.column(id) {
                    *id = column;
                }
            }
            Expr::CompoundIdentifier(parts) => self.resolve_path(parts),
            Expr::CompoundFieldAccess { access_chain, .. } => {
                for access in access_chain {
                    if let datafusion::sql::sqlparser::ast::AccessExpr::Subscript(Subscript::Index { index }) = access {
                        zero_to_one_based(index);
                    }
                }
            }
            Expr::Cast {
                data_type, expr: inner, ..
            } => {
                let target = cast_target(&data_type.to_string())?;
                let inner_sql = inner.to_string();
                *expr = if target == "BIGINT" {
                    // '3.0' is an INT in S3 Select; DataFusion would not cast it directly.
                    parse(&format!(
                        "COALESCE(TRY_CAST({inner_sql} AS BIGINT), TRY_CAST(TRY_CAST({inner_sql} AS DOUBLE) AS BIGINT))"
                    ))?
                } else {
                    parse(&format!("TRY_CAST({inner_sql} AS {target})"))?
                };
            }
            Expr::BinaryOp { left, op, right } => {
                if is_comparison(op) {
                    if is_number(right) && self.is_text(left) {
                        as_number(left)?;
                    } else if is_number(left) && self.is_text(right) {
                        as_number(right)?;
                    }
                } else if is_arithmetic(op) {
                    for side in [left, right] {
                        if self.is_text(side) {
                            as_number(side)?;
                        }
                    }
                }
            }
            Expr::Like {
                pattern, escape_char, ..
            }
            | Expr::ILike {
                pattern, escape_char, ..
            } => {
                // DataFusion escapes with a backslash by default; S3 Select has no escape
                // unless ESCAPE names one.
                let escape = escape_char.take().map(|e| e.value);
                if escape.is_some() || matches!(&**pattern, Expr::Value(_)) {
                    **pattern = backslash_escapes(pattern, escape.as_ref())?;
                }
            }
            Expr::Between {
                expr: inner, low, high, ..
            } if (is_number(low) || is_number(high)) && self.is_text(inner) => as_number(inner)?,
            Expr::InList { expr: inner, list, .. } if list.iter().any(is_number) && self.is_text(inner) => as_number(inner)?,
            Expr::Function(function) => {
                let name = function.name.to_string().to_ascii_uppercase();
                let mut args = function_args(&function.args);
                match name.as_str() {
                    "SUM" | "AVG" => {
                        if let FunctionArguments::List(list) = &mut function.args {
                            for arg in &mut list.args {
                                if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg
                                    && self.is_text(e)
                                {
                                    as_number(e)?;
                                }
                            }
                        }
                    }
                    "UTCNOW" => *expr = parse("now()")?,
                    "DATE_ADD" if args.len() == 3 => {
                        let ts = args.pop().unwrap_or_default();
                        let n = args.pop().unwrap_or_default();
                        let part = date_part(&args[0])?;
                        *expr = parse(&format!(
                            "({ts}) + CAST(CONCAT(CAST(({n}) AS VARCHAR), ' {part}') AS INTERVAL)"
                        ))?;
                    }
                    "DATE_DIFF" if args.len() == 3 => {
                        let part = date_part(&args[0])?;
                        *expr = parse(&date_diff(part, &args[1], &args[2]))?;
                    }
                    "TO_STRING" if args.len() == 2 => {
                        let pattern = chrono_pattern(&args[1])?;
                        *expr = parse(&format!("to_char({}, '{}')", args[0], pattern.replace('\'', "''")))?;
                    }
                    "DATE_ADD" | "DATE_DIFF" | "TO_STRING" => {
                        return Err(SelectError::bad_request(
                            "IncorrectSqlFunctionArgumentType",
                            format!("{name} takes {} arguments", if name == "TO_STRING" { 2 } else { 3 }),
                        ));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether `id` is the table's qualifier (`s` of `FROM S3Object s`, or `S3Object`).
    fn is_qualifier(&self, id: &Ident) -> bool {
        match &self.qualifier {
            Some(q) => same_name(q, id),
            None => id.value.eq_ignore_ascii_case("s3object") || id.value == TABLE,
        }
    }

    /// `s.col.field…` / `col.field…`: the column part resolved, the rest kept.
    fn resolve_path(&self, parts: &mut [Ident]) {
        let at = usize::from(parts.len() > 1 && self.is_qualifier(&parts[0]));
        if at == 1 {
            // DataFusion knows the table by its registered name when no alias was given.
            if self.qualifier.is_none() {
                parts[0] = Ident::new(TABLE);
            }
        }
        if let Some(column) = parts.get(at).and_then(|id| self.column(id)) {
            parts[at] = column;
        }
        for part in parts.iter_mut().skip(at + 1) {
            part.quote_style = Some('"');
        }
    }

    /// The quoted column an identifier names: exact when quoted, case-insensitive when not,
    /// `_N` as the N-th column when no column has that name.
    fn column(&self, id: &Ident) -> Option<Ident> {
        let fields = self.table.schema.fields();
        let exact = fields.iter().find(|f| f.name() == &id.value);
        let found = match (exact, id.quote_style) {
            (Some(f), _) => Some(f),
            (None, Some('"')) => None,
            (None, _) => fields
                .iter()
                .find(|f| f.name().eq_ignore_ascii_case(&id.value))
                .or_else(|| positional(&id.value).and_then(|n| fields.get(n - 1))),
        };
        found.map(|f| Ident::with_quote('"', f.name().clone()))
    }

    /// Whether `expr` is a reference to a text column.
    fn is_text(&self, expr: &Expr) -> bool {
        let id = match expr {
            Expr::Identifier(id) => id,
            Expr::CompoundIdentifier(parts) if parts.len() == 2 && self.is_qualifier(&parts[0]) => &parts[1],
            Expr::CompoundIdentifier(parts) if parts.len() == 2 && parts[0].value == TABLE => &parts[1],
            _ => return false,
        };
        self.table
            .schema
            .fields()
            .iter()
            .any(|f| f.name() == &id.value && matches!(f.data_type(), DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8))
    }
}

fn same_name(a: &Ident, b: &Ident) -> bool {
    if a.quote_style == Some('"') || b.quote_style == Some('"') {
        a.value == b.value
    } else {
        a.value.eq_ignore_ascii_case(&b.value)
    }
}

/// N of `_N`.
fn positional(name: &str) -> Option<usize> {
    name.strip_prefix('_')?.parse().ok().filter(|n| *n > 0)
}

fn parse(sql: &str) -> Result<Expr, SelectError> {
    Parser::new(&GenericDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SelectError::bad_request("ParseUnexpectedToken", e.to_string()))
}

fn as_number(expr: &mut Expr) -> Result<(), SelectError> {
    *expr = parse(&format!("TRY_CAST({expr} AS DOUBLE)"))?;
    Ok(())
}

fn is_number(expr: &Expr) -> bool {
    match expr {
        Expr::Value(v) => matches!(v.value, Value::Number(..)),
        Expr::UnaryOp { expr, .. } => is_number(expr),
        Expr::Nested(inner) => is_number(inner),
        _ => false,
    }
}

fn is_comparison(op: &BinaryOperator) -> bool {
    use BinaryOperator::*;
    matches!(op, Eq | NotEq | Lt | LtEq | Gt | GtEq)
}

fn is_arithmetic(op: &BinaryOperator) -> bool {
    use BinaryOperator::*;
    matches!(op, Plus | Minus | Multiply | Divide | Modulo)
}

/// A LIKE pattern with its own ESCAPE character rewritten to DataFusion's backslash escapes.
fn backslash_escapes(pattern: &Expr, escape: Option<&Value>) -> Result<Expr, SelectError> {
    let invalid = |m: &str| SelectError::bad_request("InvalidArgument", m);
    let escape = match escape {
        None => None,
        Some(Value::SingleQuotedString(escape)) => {
            let mut chars = escape.chars();
            let (Some(escape), None) = (chars.next(), chars.next()) else {
                return Err(invalid("ESCAPE takes a one-character string"));
            };
            Some(escape)
        }
        Some(_) => return Err(invalid("ESCAPE takes a one-character string")),
    };
    let Expr::Value(v) = pattern else {
        return Err(SelectError::bad_request(
            "UnsupportedSqlOperation",
            "LIKE … ESCAPE needs a literal pattern",
        ));
    };
    let Value::SingleQuotedString(text) = &v.value else {
        return Err(invalid("a LIKE pattern is a string"));
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => return Err(invalid("a LIKE pattern ends with its escape character")),
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Ok(Expr::value(Value::SingleQuotedString(out)))
}

/// S3 Select's array indexes count from 0, DataFusion's from 1.
fn zero_to_one_based(index: &mut Expr) {
    if let Expr::Value(v) = index
        && let Value::Number(n, long) = &v.value
        && let Ok(i) = n.parse::<i64>()
    {
        v.value = Value::Number((i + 1).to_string(), *long);
    }
}

/// DataFusion's type for an S3 Select CAST target.
fn cast_target(data_type: &str) -> Result<&'static str, SelectError> {
    let name = data_type.to_ascii_uppercase();
    let base = name.split('(').next().unwrap_or_default().trim();
    Ok(match base {
        "INT" | "INTEGER" | "BIGINT" | "SMALLINT" | "TINYINT" => "BIGINT",
        "FLOAT" | "REAL" | "DOUBLE" | "DOUBLE PRECISION" | "DECIMAL" | "NUMERIC" => "DOUBLE",
        "STRING" | "VARCHAR" | "CHAR" | "TEXT" | "CHARACTER VARYING" => "VARCHAR",
        "BOOL" | "BOOLEAN" => "BOOLEAN",
        "TIMESTAMP" => "TIMESTAMP",
        _ => {
            return Err(SelectError::bad_request(
                "InvalidCast",
                format!("S3 Select cannot cast to {data_type}"),
            ));
        }
    })
}

/// The texts of a function's plain arguments.
fn function_args(args: &FunctionArguments) -> Vec<String> {
    match args {
        FunctionArguments::List(list) => list.args.iter().map(|a| a.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The date part named by DATE_ADD / DATE_DIFF's first argument.
fn date_part(arg: &str) -> Result<&'static str, SelectError> {
    let part = arg.trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase();
    Ok(match part.as_str() {
        "year" => "year",
        "month" => "month",
        "day" => "day",
        "hour" => "hour",
        "minute" => "minute",
        "second" => "second",
        _ => {
            return Err(SelectError::bad_request(
                "InvalidDataType",
                format!("{arg} is not a date part (year, month, day, hour, minute, second)"),
            ));
        }
    })
}

/// DATE_DIFF(part, a, b): whole parts from `a` to `b`.
fn date_diff(part: &str, a: &str, b: &str) -> String {
    let years = format!("(date_part('year', {b}) - date_part('year', {a}))");
    let seconds = format!("(date_part('epoch', {b}) - date_part('epoch', {a}))");
    let whole = |unit: u32| format!("CAST(trunc({seconds} / {unit}) AS BIGINT)");
    match part {
        "year" => format!("CAST({years} AS BIGINT)"),
        "month" => format!("CAST({years} * 12 + date_part('month', {b}) - date_part('month', {a}) AS BIGINT)"),
        "day" => whole(86_400),
        "hour" => whole(3_600),
        "minute" => whole(60),
        _ => whole(1),
    }
}

/// A TO_STRING pattern (Java-style letters, `'quoted'` literals) as a chrono format.
fn chrono_pattern(arg: &str) -> Result<String, SelectError> {
    let pattern = arg
        .strip_prefix('\'')
        .and_then(|p| p.strip_suffix('\''))
        .ok_or_else(|| SelectError::bad_request("InvalidDataType", "TO_STRING's pattern is a string literal"))?
        .replace("''", "'");
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        let token: String = match (c, run) {
            ('y', 2) => "%y".into(),
            ('y', _) => "%Y".into(),
            ('M', 1) => "%-m".into(),
            ('M', 2) => "%m".into(),
            ('M', 3) => "%b".into(),
            ('M', _) => "%B".into(),
            ('d', 1) => "%-d".into(),
            ('d', _) => "%d".into(),
            ('H', 1) => "%-H".into(),
            ('H', _) => "%H".into(),
            ('h', 1) => "%-I".into(),
            ('h', _) => "%I".into(),
            ('m', 1) => "%-M".into(),
            ('m', _) => "%M".into(),
            ('s', 1) => "%-S".into(),
            ('s', _) => "%S".into(),
            // chrono writes 3, 6 or 9 fraction digits.
            ('S', n) if n <= 3 => "%3f".into(),
            ('S', n) if n <= 6 => "%6f".into(),
            ('S', _) => "%9f".into(),
            ('a', _) => "%p".into(),
            ('\'', _) => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == '\'')
                    .map_or(chars.len(), |p| i + 1 + p);
                let literal: String = chars[i + 1..end].iter().collect();
                i = end + 1;
                out.push_str(&literal.replace('%', "%%"));
                continue;
            }
            ('%', n) => "%%".repeat(n),
            (other, n) if other.is_ascii_alphabetic() => {
                return Err(SelectError::bad_request(
                    "InvalidDataType",
                    format!("TO_STRING pattern letter {} is not supported", other.to_string().repeat(n)),
                ));
            }
            (other, n) => other.to_string().repeat(n),
        };
        out.push_str(&token);
        i += run;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn csv_table() -> Table {
        let fields = ["name", "Age", "city"].map(|n| Field::new(n, DataType::Utf8, true));
        Table {
            schema: Arc::new(Schema::new(fields.to_vec())),
        }
    }

    fn sql(expression: &str) -> String {
        rewrite(expression, &csv_table()).unwrap().to_string()
    }

    #[test]
    fn names_resolve_case_insensitively_and_numbers_compare_as_numbers() {
        assert_eq!(
            sql("SELECT s.name FROM S3Object s WHERE s.age > 30"),
            "SELECT s.\"name\" FROM s3object s WHERE TRY_CAST(s.\"Age\" AS DOUBLE) > 30"
        );
        assert_eq!(
            sql("select _1, count(*) from s3object where _2 is missing"),
            "SELECT \"name\", count(*) AS \"_2\" FROM s3object WHERE \"Age\" IS NULL"
        );
    }

    #[test]
    fn casts_do_not_abort_and_strings_stay_strings() {
        assert_eq!(
            sql("SELECT CAST(s.age AS FLOAT) FROM S3Object AS s WHERE s.city = '30'"),
            "SELECT TRY_CAST(s.\"Age\" AS DOUBLE) AS \"_1\" FROM s3object AS s WHERE s.\"city\" = '30'"
        );
    }

    #[test]
    fn only_one_select_from_s3object() {
        for bad in [
            "SELECT * FROM other",
            "SELECT * FROM S3Object a JOIN S3Object b ON a.x = b.x",
            "DROP TABLE s3object",
            "SELECT 1; SELECT 2",
            "SELECT * FROM S3Object ORDER BY name",
        ] {
            assert!(rewrite(bad, &csv_table()).is_err(), "{bad}");
        }
        assert_eq!(
            rewrite("SELECT * FROM", &csv_table()).unwrap_err().code,
            "ParseUnexpectedToken"
        );
    }

    #[test]
    fn java_patterns_become_chrono() {
        assert_eq!(chrono_pattern("'yyyy-MM-dd''T''HH:mm'").unwrap(), "%Y-%m-%dT%H:%M");
        assert!(chrono_pattern("'Q'").is_err());
    }
}
