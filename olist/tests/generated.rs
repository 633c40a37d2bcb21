//! The generated dataset at scale 1, read back with an ordinary CSV reader: Kaggle's names,
//! headers and sizes, keys that join, and each of the real data's quirks, measured.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lagoa_olist::{FILES, Options, generate};

/// The scale-1 dataset, generated once for all tests of this file.
fn scale_one() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let options = Options {
            scale: 1.0,
            seed: 7,
            out: dir.clone(),
        };
        generate(&options, &mut |_, _| {}).expect("generation");
        dir
    })
}

/// (header, rows) of a generated file.
fn read(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(scale_one().join(name)).expect("readable CSV");
    let header = reader.headers().expect("header").iter().map(str::to_owned).collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a well-formed record").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn column(rows: &[Vec<String>], i: usize) -> impl Iterator<Item = &str> {
    rows.iter().map(move |r| r[i].as_str())
}

fn distinct(rows: &[Vec<String>], i: usize) -> HashSet<&str> {
    column(rows, i).collect()
}

/// Brazil's box plus its islands, written independently of the crate under test.
fn in_brazil(lat: f64, lng: f64) -> bool {
    ((-33.75..=5.28).contains(&lat) && (-73.99..=-34.79).contains(&lng))
        || ((-4.0..=-3.7).contains(&lat) && (-33.9..=-32.3).contains(&lng))
}

#[test]
fn files_headers_and_sizes_are_kaggles() {
    let expected: [(&str, &[&str], usize); 8] = [
        (
            "olist_customers_dataset.csv",
            &[
                "customer_id",
                "customer_unique_id",
                "customer_zip_code_prefix",
                "customer_city",
                "customer_state",
            ],
            99_441,
        ),
        (
            "olist_geolocation_dataset.csv",
            &[
                "geolocation_zip_code_prefix",
                "geolocation_lat",
                "geolocation_lng",
                "geolocation_city",
                "geolocation_state",
            ],
            1_000_163,
        ),
        (
            "olist_sellers_dataset.csv",
            &["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"],
            3_095,
        ),
        (
            "olist_orders_dataset.csv",
            &[
                "order_id",
                "customer_id",
                "order_status",
                "order_purchase_timestamp",
                "order_approved_at",
                "order_delivered_carrier_date",
                "order_delivered_customer_date",
                "order_estimated_delivery_date",
            ],
            99_441,
        ),
        (
            "olist_order_items_dataset.csv",
            &[
                "order_id",
                "order_item_id",
                "product_id",
                "seller_id",
                "shipping_limit_date",
                "price",
                "freight_value",
            ],
            112_650,
        ),
        (
            "olist_order_payments_dataset.csv",
            &[
                "order_id",
                "payment_sequential",
                "payment_type",
                "payment_installments",
                "payment_value",
            ],
            103_886,
        ),
        (
            "olist_order_reviews_dataset.csv",
            &[
                "review_id",
                "order_id",
                "review_score",
                "review_comment_title",
                "review_comment_message",
                "review_creation_date",
                "review_answer_timestamp",
            ],
            99_224,
        ),
        (
            "olist_products_dataset.csv",
            &[
                "product_id",
                "product_category_name",
                "product_name_lenght",
                "product_description_lenght",
                "product_photos_qty",
                "product_weight_g",
                "product_length_cm",
                "product_height_cm",
                "product_width_cm",
            ],
            32_951,
        ),
    ];
    let mut names: Vec<String> = std::fs::read_dir(scale_one())
        .expect("listing")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut wanted: Vec<&str> = FILES.to_vec();
    wanted.sort();
    assert_eq!(names, wanted);
    for (name, columns, rows) in expected {
        let (header, body) = read(name);
        assert_eq!(header, columns, "{name}");
        assert_eq!(body.len(), rows, "{name}");
        let first_line = std::fs::read_to_string(scale_one().join(name)).expect("text");
        let first_line = first_line.lines().next().unwrap_or_default();
        assert!(
            first_line.starts_with('"') && first_line.ends_with('"'),
            "{name}: Kaggle quotes every header name"
        );
    }
    let (_, customers) = read("olist_customers_dataset.csv");
    assert_eq!(distinct(&customers, 1).len(), 96_096, "unique customers");
    assert_eq!(distinct(&customers, 2).len(), 14_994, "distinct customer prefixes");
    let (_, geolocation) = read("olist_geolocation_dataset.csv");
    assert_eq!(distinct(&geolocation, 0).len(), 19_015, "geolocation prefixes");
    let (_, categories) = read("product_category_name_translation.csv");
    assert_eq!(categories.len(), 71);
}

#[test]
fn geography_is_brazils() {
    let (_, customers) = read("olist_customers_dataset.csv");
    let mut per_state: HashMap<&str, usize> = HashMap::new();
    for state in column(&customers, 4) {
        *per_state.entry(state).or_default() += 1;
    }
    assert_eq!(per_state.len(), 27);
    let sp = per_state["SP"] as f64 / customers.len() as f64;
    assert!((0.40..0.44).contains(&sp), "São Paulo's share {sp}");
    assert!(per_state.values().all(|&n| n <= per_state["SP"]));
    // Prefixes in each state's CEP range (a few states checked), 5 digits.
    let ranges = [
        ("SP", 1000..=19999),
        ("RJ", 20000..=28999),
        ("MG", 30000..=39999),
        ("RS", 90000..=99999),
    ];
    for row in &customers {
        assert_eq!(row[2].len(), 5, "{row:?}");
        let prefix: u32 = row[2].parse().expect("digits");
        for (state, range) in &ranges {
            if row[4] == *state {
                assert!(range.contains(&prefix), "{row:?}");
            }
        }
    }
    // Coordinates inside each state (bounding boxes of a few states).
    let boxes = [
        ("SP", (-25.4, -19.7), (-53.2, -44.1)),
        ("RJ", (-23.4, -20.7), (-44.9, -40.9)),
        ("MG", (-22.95, -14.2), (-51.1, -39.8)),
        ("RS", (-33.8, -27.0), (-57.7, -49.6)),
        ("BA", (-18.4, -8.5), (-46.7, -37.3)),
        ("AM", (-9.9, 2.3), (-73.9, -56.0)),
    ];
    let (_, geolocation) = read("olist_geolocation_dataset.csv");
    for (state, (south, north), (west, east)) in boxes {
        let points: Vec<(f64, f64)> = geolocation
            .iter()
            .filter(|r| r[4] == state)
            .map(|r| (r[1].parse().expect("lat"), r[2].parse().expect("lng")))
            .filter(|&(lat, lng)| in_brazil(lat, lng))
            .collect();
        let inside = points
            .iter()
            .filter(|&&(lat, lng)| (south..=north).contains(&lat) && (west..=east).contains(&lng))
            .count();
        assert!(
            inside as f64 >= points.len() as f64 * 0.995,
            "{state}: {inside} of {}",
            points.len()
        );
    }
}

#[test]
fn every_key_joins() {
    let (_, customers) = read("olist_customers_dataset.csv");
    let (_, orders) = read("olist_orders_dataset.csv");
    let (_, items) = read("olist_order_items_dataset.csv");
    let (_, payments) = read("olist_order_payments_dataset.csv");
    let (_, reviews) = read("olist_order_reviews_dataset.csv");
    let (_, products) = read("olist_products_dataset.csv");
    let (_, sellers) = read("olist_sellers_dataset.csv");
    let (_, categories) = read("product_category_name_translation.csv");
    let customer_ids = distinct(&customers, 0);
    assert_eq!(customer_ids.len(), customers.len(), "customer_id is a key");
    let order_ids = distinct(&orders, 0);
    assert_eq!(order_ids.len(), orders.len(), "order_id is a key");
    assert_eq!(distinct(&orders, 1), customer_ids, "one order per customer_id");
    let product_ids = distinct(&products, 0);
    let seller_ids = distinct(&sellers, 0);
    for item in &items {
        assert!(order_ids.contains(item[0].as_str()));
        assert!(product_ids.contains(item[2].as_str()));
        assert!(seller_ids.contains(item[3].as_str()));
    }
    assert!(column(&payments, 0).all(|o| order_ids.contains(o)));
    assert!(column(&reviews, 1).all(|o| order_ids.contains(o)));
    let mut known: HashSet<&str> = distinct(&categories, 0);
    known.insert("");
    let unknown: HashSet<&str> = column(&products, 1).filter(|c| !known.contains(c)).collect();
    let untranslated: HashSet<&str> = ["pc_gamer", "portateis_cozinha_e_preparadores_de_alimentos"].into();
    assert!(unknown.is_subset(&untranslated), "{unknown:?}");
    // Item numbers run 1..n within an order.
    let mut per_order: HashMap<&str, Vec<u32>> = HashMap::new();
    for item in &items {
        per_order.entry(&item[0]).or_default().push(item[1].parse().expect("number"));
    }
    for numbers in per_order.values_mut() {
        numbers.sort_unstable();
        assert!(numbers.iter().enumerate().all(|(i, &n)| n as usize == i + 1));
    }
}

#[test]
fn the_real_quirks_are_there() {
    let (_, customers) = read("olist_customers_dataset.csv");
    let (_, geolocation) = read("olist_geolocation_dataset.csv");
    let (_, sellers) = read("olist_sellers_dataset.csv");
    let geo_text = std::fs::read_to_string(scale_one().join("olist_geolocation_dataset.csv")).expect("text");

    // 4-digit prefixes, all in São Paulo state; joining them as text to customers' padded
    // prefixes loses about a quarter of the customers.
    let short: Vec<&Vec<String>> = geolocation.iter().filter(|r| r[0].len() == 4).collect();
    assert!(short.len() > 100_000, "{}", short.len());
    assert!(short.iter().all(|r| r[4] == "SP"));
    assert!(geo_text.contains("\n1037,") || geo_text.lines().any(|l| l.len() > 5 && l.as_bytes()[4] == b','));
    let as_text: HashSet<&str> = distinct(&geolocation, 0);
    let lost = column(&customers, 2).filter(|z| !as_text.contains(z)).count() as f64 / customers.len() as f64;
    assert!((0.20..0.32).contains(&lost), "a text join loses {lost}");

    // Customer prefixes with no geolocation row at all: about 0.15% of them.
    let padded: HashSet<String> = column(&geolocation, 0).map(|z| format!("{z:0>5}")).collect();
    let customer_prefixes = distinct(&customers, 2);
    let missing = customer_prefixes.iter().filter(|z| !padded.contains(**z)).count();
    let share = missing as f64 / customer_prefixes.len() as f64;
    assert!((0.0008..0.003).contains(&share), "{missing} of {}", customer_prefixes.len());
    assert!(
        column(&sellers, 1).any(|z| !padded.contains(z)),
        "a seller without geolocation"
    );

    // Many points per prefix, exact duplicates, some far apart.
    let points: Vec<(String, f64, f64)> = geolocation
        .iter()
        .map(|r| {
            (
                format!("{:0>5}", r[0]),
                r[1].parse().expect("lat"),
                r[2].parse().expect("lng"),
            )
        })
        .collect();
    let unique_rows: HashSet<&Vec<String>> = geolocation.iter().collect();
    let duplicates = geolocation.len() - unique_rows.len();
    assert!(
        duplicates as f64 > geolocation.len() as f64 * 0.15,
        "{duplicates} duplicate rows"
    );
    let mut first: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut far = 0;
    for (zip, lat, lng) in &points {
        let (lat0, lng0) = *first.entry(zip).or_insert((*lat, *lng));
        if in_brazil(*lat, *lng) && ((lat - lat0).powi(2) + (lng - lng0).powi(2)).sqrt() > 1.0 {
            far += 1;
        }
    }
    assert!(far > 500, "{far} points over 100 km from their prefix's first point");

    // Points abroad; genuine points east of −34° (Fernando de Noronha, PE).
    let abroad = points.iter().filter(|(_, lat, lng)| !in_brazil(*lat, *lng)).count();
    assert!((10..100).contains(&abroad), "{abroad} points abroad");
    assert!(points.iter().any(|(_, lat, lng)| *lat > 30.0 && *lng > 0.0), "Italy");
    let noronha: Vec<&Vec<String>> = geolocation
        .iter()
        .filter(|r| r[2].parse::<f64>().is_ok_and(|lng| lng > -34.0 && lng < -30.0))
        .collect();
    assert!(!noronha.is_empty());
    assert!(
        noronha.iter().all(|r| r[4] == "PE" && r[0] == "53990"),
        "{:?}",
        noronha.first()
    );

    // Accents: with, without, decomposed.
    let cities = distinct(&geolocation, 3);
    assert!(cities.contains("são paulo") && cities.contains("sao paulo"));
    assert!(cities.contains("sa\u{0303}o paulo"), "decomposed spelling");

    // Junk in seller cities.
    let seller_cities = distinct(&sellers, 2);
    assert!(seller_cities.iter().any(|c| c.contains('@')));
    assert!(seller_cities.iter().any(|c| c.contains('/')));
    assert!(seller_cities.iter().any(|c| c.chars().all(|ch| ch.is_ascii_digit())));

    // BOM and CRLF in the translation file only.
    let translation = std::fs::read(scale_one().join("product_category_name_translation.csv")).expect("bytes");
    assert!(translation.starts_with(b"\xEF\xBB\xBFproduct_category_name,product_category_name_english\r\n"));
    assert!(!geo_text.contains('\r') && !geo_text.starts_with('\u{feff}'));

    // Review texts with line breaks, quotes and commas; customers under several ids.
    let (_, reviews) = read("olist_order_reviews_dataset.csv");
    let messages = distinct(&reviews, 4);
    assert!(messages.iter().any(|m| m.contains('\n')));
    assert!(messages.iter().any(|m| m.contains('"')));
    assert!(messages.iter().any(|m| m.contains(',')));
    assert!(distinct(&customers, 1).len() < customers.len());
}

#[test]
fn a_seed_and_scale_give_the_same_bytes() {
    let run = |seed: u64| {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = Options {
            scale: 0.01,
            seed,
            out: dir.path().to_owned(),
        };
        generate(&options, &mut |_, _| {}).expect("generation");
        FILES
            .iter()
            .map(|f| std::fs::read(dir.path().join(f)).expect("file"))
            .collect::<Vec<_>>()
    };
    let a = run(1);
    assert_eq!(a, run(1));
    assert_ne!(a, run(2));
}

#[test]
fn scales_outside_the_range_are_refused() {
    for scale in [0.0, 0.001, 1000.0, f64::NAN] {
        let options = Options {
            scale,
            seed: 1,
            out: std::env::temp_dir().join("lagoa-olist-never-written"),
        };
        assert!(generate(&options, &mut |_, _| {}).is_err(), "{scale}");
    }
}
