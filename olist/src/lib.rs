//! A faithful generator of the Olist Brazilian e-commerce dataset (Kaggle
//! "olistbr/brazilian-ecommerce"), Lagoa's reference workload: the nine CSVs with Kaggle's file
//! names, columns, quoting and foreign keys, at the real sizes for scale 1, with the quirks of the
//! real files reproduced on purpose so that whatever joins them is tested against them.
//!
//! It owns only file generation: it never talks to a server (the binary's `lagoa olist load`
//! uploads) and never geocodes (compute does, in SQL).

mod csv_out;
mod generate;
pub mod geography;
mod text;

use std::path::PathBuf;

pub use generate::generate;

/// The nine files, in the order they are written.
pub const FILES: [&str; 9] = [
    "product_category_name_translation.csv",
    "olist_geolocation_dataset.csv",
    "olist_customers_dataset.csv",
    "olist_sellers_dataset.csv",
    "olist_products_dataset.csv",
    "olist_orders_dataset.csv",
    "olist_order_items_dataset.csv",
    "olist_order_payments_dataset.csv",
    "olist_order_reviews_dataset.csv",
];

/// The header of each of [`FILES`], in the same order: Kaggle's column names and order (typos
/// included). `lagoa geocode` checks its inputs against them.
pub const HEADERS: [&[&str]; 9] = [
    &["product_category_name", "product_category_name_english"],
    &[
        "geolocation_zip_code_prefix",
        "geolocation_lat",
        "geolocation_lng",
        "geolocation_city",
        "geolocation_state",
    ],
    &[
        "customer_id",
        "customer_unique_id",
        "customer_zip_code_prefix",
        "customer_city",
        "customer_state",
    ],
    &["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"],
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
    &[
        "order_id",
        "order_item_id",
        "product_id",
        "seller_id",
        "shipping_limit_date",
        "price",
        "freight_value",
    ],
    &[
        "order_id",
        "payment_sequential",
        "payment_type",
        "payment_installments",
        "payment_value",
    ],
    &[
        "review_id",
        "order_id",
        "review_score",
        "review_comment_title",
        "review_comment_message",
        "review_creation_date",
        "review_answer_timestamp",
    ],
];

/// Why generation stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("--scale must be between {MIN_SCALE} and {MAX_SCALE}, not {0}")]
    Scale(f64),
}

/// Smallest and largest scale accepted.
pub const MIN_SCALE: f64 = 0.01;
pub const MAX_SCALE: f64 = 100.0;

/// Row counts of one generated dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes {
    pub customers: usize,
    pub unique_customers: usize,
    /// Distinct zip prefixes among customers.
    pub customer_prefixes: usize,
    pub geolocation_rows: usize,
    /// Distinct zip prefixes in the geolocation table (capped by the CEP numbering at large scales).
    pub geolocation_prefixes: usize,
    pub sellers: usize,
    pub products: usize,
    pub orders: usize,
    pub order_items: usize,
    pub payments: usize,
    pub reviews: usize,
}

impl Sizes {
    /// The real dataset's sizes times `scale` (at least one row each).
    pub fn at(scale: f64) -> Self {
        let n = |real: f64| ((real * scale).round() as usize).max(1);
        Self {
            customers: n(99_441.0),
            unique_customers: n(96_096.0),
            customer_prefixes: n(14_994.0),
            geolocation_rows: n(1_000_163.0),
            geolocation_prefixes: n(19_015.0),
            sellers: n(3_095.0),
            products: n(32_951.0),
            orders: n(99_441.0),
            order_items: n(112_650.0),
            payments: n(103_886.0),
            reviews: n(99_224.0),
        }
    }

    /// All rows of all nine files.
    pub fn total_rows(&self) -> u64 {
        (self.customers
            + self.geolocation_rows
            + self.sellers
            + self.products
            + self.orders
            + self.order_items
            + self.payments
            + self.reviews
            + text::TRANSLATED_CATEGORIES.len()) as u64
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub scale: f64,
    pub seed: u64,
    pub out: PathBuf,
}
