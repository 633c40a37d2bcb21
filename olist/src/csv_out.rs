//! CSV the way the Kaggle files are written: every header name quoted; a text value quoted only
//! when it starts with a digit or holds a comma, quote or line break (quotes doubled); numbers
//! and timestamps never quoted; an empty value is nothing between the commas. The category
//! translation file is the odd one: nothing quoted, a UTF-8 BOM and CRLF line endings.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::GenerateError;

/// One value of a row.
#[derive(Clone, Copy)]
pub enum Field<'a> {
    /// Text: quoted when it starts with a digit or must be escaped.
    Text(&'a str),
    /// A number or timestamp, written as is.
    Raw(&'a str),
    /// No value.
    Empty,
}

/// How a file is laid out.
#[derive(Clone, Copy)]
pub enum Style {
    /// The eight `olist_*` files: quoted header, LF.
    Kaggle,
    /// `product_category_name_translation.csv`: BOM, nothing quoted, CRLF.
    Translation,
}

/// A CSV file being written, buffered.
pub struct CsvFile {
    out: BufWriter<File>,
    path: PathBuf,
    style: Style,
    line: String,
    rows: u64,
}

impl CsvFile {
    /// Creates `dir/name` and writes its header.
    pub fn create(dir: &Path, name: &str, style: Style, header: &[&str]) -> Result<Self, GenerateError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| GenerateError::Write {
            path: path.clone(),
            source,
        })?;
        let mut csv = Self {
            out: BufWriter::with_capacity(1 << 20, file),
            path,
            style,
            line: String::with_capacity(512),
            rows: 0,
        };
        if let Style::Translation = style {
            csv.line.push('\u{feff}');
        }
        for (i, name) in header.iter().enumerate() {
            if i > 0 {
                csv.line.push(',');
            }
            match style {
                Style::Kaggle => {
                    csv.line.push('"');
                    csv.line.push_str(name);
                    csv.line.push('"');
                }
                Style::Translation => csv.line.push_str(name),
            }
        }
        csv.end_line()?;
        csv.rows = 0;
        Ok(csv)
    }

    /// Writes one row.
    pub fn row(&mut self, fields: &[Field<'_>]) -> Result<(), GenerateError> {
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            match *field {
                Field::Raw(value) => self.line.push_str(value),
                Field::Empty => {}
                Field::Text(value) => {
                    let quote = matches!(self.style, Style::Kaggle)
                        && (value.starts_with(|c: char| c.is_ascii_digit()) || value.contains([',', '"', '\n', '\r']));
                    if quote {
                        self.line.push('"');
                        self.line.push_str(&value.replace('"', "\"\""));
                        self.line.push('"');
                    } else {
                        self.line.push_str(value);
                    }
                }
            }
        }
        self.end_line()
    }

    fn end_line(&mut self) -> Result<(), GenerateError> {
        self.line.push_str(match self.style {
            Style::Kaggle => "\n",
            Style::Translation => "\r\n",
        });
        self.out
            .write_all(self.line.as_bytes())
            .map_err(|source| GenerateError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.line.clear();
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far (the header not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and closes the file.
    pub fn finish(mut self) -> Result<(), GenerateError> {
        self.out.flush().map_err(|source| GenerateError::Write {
            path: self.path.clone(),
            source,
        })
    }
}
