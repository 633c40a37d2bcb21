//! Geocoding functions registered in every compute session: what the Olist geocode join needs
//! and a user writing the same join by hand can call.
//!
//! - `zip5(x)`: a Brazilian CEP or CEP prefix, as text or integer, to its 5-digit text prefix.
//!   Files read with type inference lose the leading zero (`01037` → `1037`); `zip5` puts it
//!   back, so padded and unpadded prefixes join. Not a CEP (letters, too many digits,
//!   negative): NULL.
//! - `unaccent(text)`: NFKD, combining marks removed, lowercase — `São Paulo`, `sao paulo` and
//!   a decomposed `são paulo` all become `sao paulo`.
//! - `in_brazil(lat, lng)`: inside the box of Brazil's extreme mainland points, or on one of its
//!   oceanic islands (Fernando de Noronha and Atol das Rocas, São Pedro e São Paulo, Trindade
//!   and Martim Vaz), which lie east of the mainland box.
//! - `haversine_km(lat1, lng1, lat2, lng2)`: great-circle distance on a sphere of the mean
//!   Earth radius (6371.0088 km, IUGG).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Mean Earth radius (IUGG), kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Registers the geocoding functions in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(Zip5::new()));
    ctx.register_udf(ScalarUDF::from(Unaccent::new()));
    ctx.register_udf(ScalarUDF::from(InBrazil::new()));
    ctx.register_udf(ScalarUDF::from(HaversineKm::new()));
}

/// The 5-digit prefix of a CEP written as digits, optionally `NNNNN-NNN`: up to 5 digits are a
/// prefix (left-padded), 6 to 8 digits a whole CEP that lost leading zeros (its first 5).
pub fn zip5_of_text(text: &str) -> Option<String> {
    let text = text.trim();
    let digits: String = match text.split_once('-') {
        Some((head, tail)) if head.len() == 5 && tail.len() == 3 => format!("{head}{tail}"),
        Some(_) => return None,
        None => text.to_owned(),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.len() {
        1..=5 => Some(format!("{digits:0>5}")),
        6..=8 => Some(format!("{digits:0>8}")[..5].to_owned()),
        _ => None,
    }
}

/// [`zip5_of_text`] for an integer.
pub fn zip5_of_integer(value: i64) -> Option<String> {
    match value {
        0..=99_999 => Some(format!("{value:05}")),
        100_000..=99_999_999 => Some(format!("{:05}", value / 1000)),
        _ => None,
    }
}

/// NFKD, combining marks removed, lowercase.
pub fn unaccent_text(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Latitude/longitude boxes (south, north, west, east) that are Brazil: the mainland's extreme
/// points (Monte Caburaí, Arroio Chuí, Serra do Divisor, Ponta do Seixas), then the islands.
const BRAZIL_BOXES: [(f64, f64, f64, f64); 4] = [
    (-33.751_169_44, 5.274_388_88, -73.982_830_55, -34.793_147_22),
    // Fernando de Noronha and Atol das Rocas.
    (-4.0, -3.7, -33.9, -32.3),
    // Arquipélago de São Pedro e São Paulo.
    (0.8, 1.0, -29.45, -29.25),
    // Trindade and Martim Vaz.
    (-20.6, -20.4, -29.4, -28.8),
];

/// Whether a point lies in Brazil (see [`BRAZIL_BOXES`]).
pub fn point_in_brazil(lat: f64, lng: f64) -> bool {
    BRAZIL_BOXES
        .iter()
        .any(|&(south, north, west, east)| (south..=north).contains(&lat) && (west..=east).contains(&lng))
}

/// Great-circle distance in km.
pub fn haversine(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer()
}

fn argument_error(function: &str, expected: &str, got: &[DataType]) -> DataFusionError {
    DataFusionError::Plan(format!("{function} takes {expected}, not {got:?}"))
}

/// Arguments of a scalar function as arrays of `number_rows` rows.
fn arrays(args: ScalarFunctionArgs) -> Result<(Vec<ArrayRef>, bool)> {
    let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    Ok((arrays, scalar))
}

/// An array result, or a scalar when every argument was one.
fn result(array: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

/// `zip5(x)`: see the module docs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Zip5 {
    signature: Signature,
}

impl Zip5 {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Zip5 {
    fn name(&self) -> &str {
        "zip5"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t] if is_text(t) || t.is_null() => Ok(vec![DataType::Utf8]),
            [t] if is_integer(t) => Ok(vec![DataType::Int64]),
            [t] if t.is_floating() => Ok(vec![DataType::Float64]),
            _ => Err(argument_error("zip5", "one text or number", types)),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(args)?;
        let input = &arrays[0];
        let out: StringArray = match input.data_type() {
            DataType::Utf8 => input.as_string::<i32>().iter().map(|v| v.and_then(zip5_of_text)).collect(),
            DataType::Int64 => input
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.and_then(zip5_of_integer))
                .collect(),
            DataType::Float64 => input
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.filter(|f| f.fract() == 0.0).and_then(|f| zip5_of_integer(f as i64)))
                .collect(),
            other => return Err(argument_error("zip5", "one text or number", std::slice::from_ref(other))),
        };
        result(Arc::new(out), scalar)
    }
}

/// `unaccent(text)`: see the module docs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Unaccent {
    signature: Signature,
}

impl Unaccent {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Unaccent {
    fn name(&self) -> &str {
        "unaccent"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t] if is_text(t) || t.is_null() => Ok(vec![DataType::Utf8]),
            _ => Err(argument_error("unaccent", "one text", types)),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(args)?;
        let out: StringArray = arrays[0].as_string::<i32>().iter().map(|v| v.map(unaccent_text)).collect();
        result(Arc::new(out), scalar)
    }
}

/// Signature of functions over `n` coordinates (any numbers, as Float64).
fn coordinates(n: usize) -> Signature {
    Signature::one_of(
        vec![TypeSignature::Uniform(n, vec![DataType::Float64]), TypeSignature::Numeric(n)],
        Volatility::Immutable,
    )
}

/// The arguments as Float64 arrays.
fn float_arrays(arrays: &[ArrayRef]) -> Result<Vec<Float64Array>> {
    arrays
        .iter()
        .map(|a| {
            let a = datafusion::arrow::compute::cast(a, &DataType::Float64)?;
            Ok(a.as_primitive::<Float64Type>().clone())
        })
        .collect()
}

/// `in_brazil(lat, lng)`: see the module docs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct InBrazil {
    signature: Signature,
}

impl InBrazil {
    fn new() -> Self {
        Self {
            signature: coordinates(2),
        }
    }
}

impl ScalarUDFImpl for InBrazil {
    fn name(&self) -> &str {
        "in_brazil"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(args)?;
        let v = float_arrays(&arrays)?;
        let out: BooleanArray = v[0]
            .iter()
            .zip(v[1].iter())
            .map(|(lat, lng)| Some(point_in_brazil(lat?, lng?)))
            .collect();
        result(Arc::new(out), scalar)
    }
}

/// `haversine_km(lat1, lng1, lat2, lng2)`: see the module docs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct HaversineKm {
    signature: Signature,
}

impl HaversineKm {
    fn new() -> Self {
        Self {
            signature: coordinates(4),
        }
    }
}

impl ScalarUDFImpl for HaversineKm {
    fn name(&self) -> &str {
        "haversine_km"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(args)?;
        let v = float_arrays(&arrays)?;
        let out: Float64Array = (0..v[0].len())
            .map(|i| {
                if (0..4).any(|k| v[k].is_null(i)) {
                    return None;
                }
                Some(haversine(v[0].value(i), v[1].value(i), v[2].value(i), v[3].value(i)))
            })
            .collect();
        result(Arc::new(out), scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip5_pads_prefixes_and_cuts_whole_ceps() {
        assert_eq!(zip5_of_text("1037").as_deref(), Some("01037"));
        assert_eq!(zip5_of_text(" 01037 ").as_deref(), Some("01037"));
        assert_eq!(zip5_of_text("14409").as_deref(), Some("14409"));
        assert_eq!(zip5_of_text("01037-000").as_deref(), Some("01037"));
        assert_eq!(zip5_of_text("1037000").as_deref(), Some("01037"));
        assert_eq!(zip5_of_text("69900000").as_deref(), Some("69900"));
        for bad in ["", "abc", "12a45", "123456789", "-1037", "1037-00", "1.5"] {
            assert_eq!(zip5_of_text(bad), None, "{bad:?}");
        }
        assert_eq!(zip5_of_integer(1037).as_deref(), Some("01037"));
        assert_eq!(zip5_of_integer(0).as_deref(), Some("00000"));
        assert_eq!(zip5_of_integer(1_037_000).as_deref(), Some("01037"));
        assert_eq!(zip5_of_integer(-5), None);
        assert_eq!(zip5_of_integer(100_000_000), None);
    }

    #[test]
    fn unaccent_folds_composed_and_decomposed_spellings() {
        let composed = "São Paulo";
        let decomposed = "Sa\u{0303}o Paulo";
        assert_ne!(composed, decomposed);
        assert_eq!(unaccent_text(composed), "sao paulo");
        assert_eq!(unaccent_text(decomposed), "sao paulo");
        assert_eq!(unaccent_text("ITAPAGÉ"), "itapage");
        assert_eq!(unaccent_text("Mogi-Guaçu"), "mogi-guacu");
    }

    #[test]
    fn brazil_has_its_islands_and_not_its_neighbours_overseas() {
        assert!(point_in_brazil(-23.5456, -46.6393)); // São Paulo
        assert!(point_in_brazil(-3.8547, -32.4244)); // Fernando de Noronha, east of -34°
        assert!(point_in_brazil(2.82, -60.67)); // Boa Vista
        assert!(point_in_brazil(-33.69, -53.45)); // Chuí
        assert!(!point_in_brazil(38.72, -9.14)); // Lisbon
        assert!(!point_in_brazil(41.90, 12.49)); // Rome
        assert!(!point_in_brazil(28.12, -15.43)); // Las Palmas
        assert!(!point_in_brazil(-23.55, -33.5)); // the Atlantic off São Paulo
    }

    #[test]
    fn haversine_matches_known_distances() {
        // São Paulo (Praça da Sé) to Rio de Janeiro (Cinelândia): about 361 km.
        let d = haversine(-23.5503, -46.6340, -22.9111, -43.1758);
        assert!((d - 361.0).abs() < 3.0, "{d}");
        assert_eq!(haversine(1.0, 2.0, 1.0, 2.0), 0.0);
        // A quarter meridian.
        let q = haversine(0.0, 0.0, 90.0, 0.0);
        assert!((q - EARTH_RADIUS_KM * std::f64::consts::FRAC_PI_2).abs() < 1e-9);
    }
}
