//! Generation: first the small, keyed world (prefixes, customers, sellers, products) in memory,
//! then every file streamed to disk row by row. One seeded ChaCha stream drives it all, so a
//! seed and a scale always give the same bytes.
//!
//! The real data's quirks, on purpose:
//! - geolocation prefixes are written as numbers, so those of Greater São Paulo (01000–09999)
//!   are 4-digit values, while customers and sellers carry Kaggle's quoted 5-digit text;
//! - many points per prefix, about a quarter of them exact duplicates, a few far from the rest;
//! - points abroad (Portugal, Italy, the Canaries, the US) and genuine points east of −34°
//!   (Fernando de Noronha, prefix 53990);
//! - about 0.15% of customer prefixes (and a few sellers') with no geolocation row;
//! - cities spelt with and without accents, some decomposed (NFD); junk in seller cities;
//! - a BOM and CRLF in the category translation file; review texts with commas, quotes and
//!   line breaks; customers who appear under several `customer_id`s.

use std::collections::HashSet;
use std::path::Path;

use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::csv_out::{CsvFile, Field, Style};
use crate::geography::{ABROAD, NORONHA, STATES, State, city_of, range_size};
use crate::text::{
    FIRST_PAYMENT, MESSAGES, ORDER_STATUSES, REVIEW_SCORES, TITLES, TRANSLATED_CATEGORIES, UNTRANSLATED_CATEGORIES,
};
use crate::{GenerateError, MAX_SCALE, MIN_SCALE, Options, Sizes};

/// Rows between two progress reports.
const REPORT_EVERY: u64 = 1 << 14;

/// First and last purchase time (2016-09-04 21:15:19 and 2018-10-17 17:30:18 UTC), seconds.
const FIRST_PURCHASE: i64 = 1_473_023_719;
const LAST_PURCHASE: i64 = 1_539_797_418;

/// A geolocation prefix.
struct Prefix {
    code: u32,
    state: usize,
    city: usize,
    lat: f64,
    lng: f64,
    rows: u32,
    popularity: f64,
}

struct Customer {
    prefix: u32,
    state: usize,
}

struct Seller {
    id: String,
    prefix: u32,
    state: usize,
    junk_city: Option<u8>,
}

struct Product {
    id: String,
    seller: usize,
}

/// Writes the nine files into `options.out` (created if missing); `progress` hears the file
/// being written and the rows added since the last call.
pub fn generate(options: &Options, progress: &mut dyn FnMut(&str, u64)) -> Result<Sizes, GenerateError> {
    if !(MIN_SCALE..=MAX_SCALE).contains(&options.scale) {
        return Err(GenerateError::Scale(options.scale));
    }
    std::fs::create_dir_all(&options.out).map_err(|source| GenerateError::Write {
        path: options.out.clone(),
        source,
    })?;
    let mut sizes = Sizes::at(options.scale);
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let dir = options.out.as_path();

    write_translation(dir, progress)?;
    let prefixes = place_prefixes(&mut rng, &mut sizes);
    let known: HashSet<u32> = prefixes.iter().map(|p| p.code).collect();
    write_geolocation(dir, &mut rng, &prefixes, &sizes, progress)?;
    let customers = place_customers(&mut rng, &prefixes, &known, &mut sizes);
    let customer_ids = write_customers(dir, &mut rng, &customers, &sizes, progress)?;
    let sellers = place_sellers(&mut rng, &prefixes, &known, &sizes);
    write_sellers(dir, &sellers, progress)?;
    let products = write_products(dir, &mut rng, &sellers, &sizes, progress)?;
    write_orders(dir, &mut rng, &customer_ids, &sellers, &products, &sizes, progress)?;
    Ok(sizes)
}

fn write_translation(dir: &Path, progress: &mut dyn FnMut(&str, u64)) -> Result<(), GenerateError> {
    let name = crate::FILES[0];
    let mut csv = CsvFile::create(dir, name, Style::Translation, crate::HEADERS[0])?;
    for (pt, en) in TRANSLATED_CATEGORIES {
        csv.row(&[Field::Text(pt), Field::Text(en)])?;
    }
    progress(name, csv.rows());
    csv.finish()
}

/// Splits `total` over `weights` in proportion (largest remainders), no share above its cap.
fn allocate(total: usize, weights: &[f64], caps: &[usize]) -> Vec<usize> {
    let mut out = vec![0usize; weights.len()];
    let mut open: Vec<usize> = (0..weights.len()).filter(|&i| weights[i] > 0.0 && caps[i] > 0).collect();
    let mut left = total;
    while left > 0 && !open.is_empty() {
        let sum: f64 = open.iter().map(|&i| weights[i]).sum();
        let exact: Vec<f64> = open.iter().map(|&i| weights[i] / sum * left as f64).collect();
        let mut given = 0;
        for (k, &i) in open.iter().enumerate() {
            let take = (exact[k].floor() as usize).min(caps[i] - out[i]);
            out[i] += take;
            given += take;
        }
        let mut order: Vec<usize> = (0..open.len()).collect();
        order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
        for k in order {
            if given == left {
                break;
            }
            let i = open[k];
            if out[i] < caps[i] {
                out[i] += 1;
                given += 1;
            }
        }
        left -= given;
        open.retain(|&i| out[i] < caps[i]);
        if given == 0 {
            break;
        }
    }
    out
}

/// A Pareto-tailed weight: most prefixes and sellers are small, a few are big.
fn popularity(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random_range(0.02..1.0);
    u.powf(-1.0 / 1.3)
}

/// A normal deviate (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A point within `radius` degrees of (lat, lng), kept east of nothing: west of −34.8° so a
/// mainland point never falls into the sea past Ponta do Seixas.
fn near(rng: &mut ChaCha8Rng, lat: f64, lng: f64, radius: f64, mainland: bool) -> (f64, f64) {
    let (r, a) = (
        radius * rng.random::<f64>().sqrt(),
        rng.random_range(0.0..std::f64::consts::TAU),
    );
    let (mut y, mut x) = (lat + r * a.sin(), lng + r * a.cos());
    if mainland {
        x = x.min(-34.80);
        y = y.clamp(-33.75, 5.27);
    }
    (y, x)
}

fn place_prefixes(rng: &mut ChaCha8Rng, sizes: &mut Sizes) -> Vec<Prefix> {
    let weights: Vec<f64> = STATES.iter().map(|s| f64::from(s.geolocation_rows)).collect();
    let rows = allocate(sizes.geolocation_rows, &weights, &vec![usize::MAX; STATES.len()]);
    let caps: Vec<usize> = STATES
        .iter()
        .enumerate()
        .map(|(i, s)| (range_size(s) as usize * 4 / 5).min(rows[i]))
        .collect();
    let counts = allocate(sizes.geolocation_prefixes, &weights, &caps);
    sizes.geolocation_prefixes = counts.iter().sum();
    let mut prefixes = Vec::with_capacity(sizes.geolocation_prefixes);
    for (s, state) in STATES.iter().enumerate() {
        if counts[s] == 0 {
            continue;
        }
        let all: Vec<u32> = crate::geography::prefixes_of(state).collect();
        let mut codes: Vec<u32> = rand::seq::index::sample(rng, all.len(), counts[s])
            .into_iter()
            .map(|i| all[i])
            .collect();
        if state.code == "PE" && !codes.contains(&NORONHA.0) {
            codes[0] = NORONHA.0;
        }
        codes.sort_unstable();
        let first = prefixes.len();
        for code in codes {
            let city_index = city_of(state, code);
            let city = &state.cities[city_index];
            let (lat, lng) = if code == NORONHA.0 {
                (NORONHA.2, NORONHA.3)
            } else {
                let radius = if city_index == 0 { 0.10 } else { 0.25 };
                near(rng, city.lat, city.lng, radius, true)
            };
            prefixes.push(Prefix {
                code,
                state: s,
                city: city_index,
                lat,
                lng,
                rows: 1,
                popularity: popularity(rng),
            });
        }
        let mine = &mut prefixes[first..];
        let weights: Vec<f64> = mine.iter().map(|p| p.popularity).collect();
        let extra = allocate(rows[s] - mine.len(), &weights, &vec![usize::MAX; mine.len()]);
        for (p, extra) in mine.iter_mut().zip(extra) {
            p.rows += extra as u32;
        }
    }
    prefixes.sort_by_key(|p| p.code);
    prefixes
}

/// A city's name as a geolocation row spells it: mostly plain lowercase, sometimes with its
/// accents, now and then decomposed (NFD).
fn spelt(rng: &mut ChaCha8Rng, name: &str, accented_share: f64) -> String {
    let lower = name.to_lowercase();
    let roll: f64 = rng.random();
    if roll < accented_share * 0.8 {
        lower.nfc().collect()
    } else if roll < accented_share {
        lower.nfd().collect()
    } else {
        plain(&lower)
    }
}

/// Without accents.
fn plain(name: &str) -> String {
    name.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

fn write_geolocation(
    dir: &Path,
    rng: &mut ChaCha8Rng,
    prefixes: &[Prefix],
    sizes: &Sizes,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<(), GenerateError> {
    let name = crate::FILES[1];
    let mut csv = CsvFile::create(dir, name, Style::Kaggle, crate::HEADERS[1])?;
    let abroad_rows = ((29.0 * sizes.geolocation_rows as f64 / 1_000_163.0).round() as usize).max(1);
    let abroad: HashSet<usize> = rand::seq::index::sample(rng, sizes.geolocation_rows, abroad_rows)
        .into_iter()
        .collect();
    let (mut row, mut reported) = (0usize, 0u64);
    let mut points: Vec<(String, String, String)> = Vec::new();
    for prefix in prefixes {
        let state = &STATES[prefix.state];
        let city = &state.cities[prefix.city];
        let code = prefix.code.to_string();
        points.clear();
        for _ in 0..prefix.rows {
            if !points.is_empty() && rng.random_bool(0.26) {
                let i = rng.random_range(0..points.len());
                let copy = points[i].clone();
                points.push(copy);
            } else {
                let (lat, lng, town) = if abroad.contains(&row) && prefix.code != NORONHA.0 {
                    let (lat, lng) = ABROAD[rng.random_range(0..ABROAD.len())];
                    let (lat, lng) = near(rng, lat, lng, 0.05, false);
                    (lat, lng, city.name)
                } else if prefix.code == NORONHA.0 {
                    let (lat, lng) = near(rng, prefix.lat, prefix.lng, 0.03, false);
                    (lat, lng, NORONHA.1)
                } else if state.cities.len() > 1 && rng.random_bool(0.01) {
                    let other = &state.cities[rng.random_range(0..state.cities.len())];
                    let (lat, lng) = near(rng, other.lat, other.lng, 0.1, true);
                    (lat, lng, city.name)
                } else {
                    let spread = 0.004 + 0.02 * normal(rng).abs();
                    let (lat, lng) = near(rng, prefix.lat, prefix.lng, spread, true);
                    (lat, lng, city.name)
                };
                points.push((lat.to_string(), lng.to_string(), spelt(rng, town, 0.05)));
            }
            row += 1;
        }
        for (lat, lng, town) in &points {
            csv.row(&[
                Field::Raw(&code),
                Field::Raw(lat),
                Field::Raw(lng),
                Field::Text(town),
                Field::Text(state.code),
            ])?;
        }
        if csv.rows() - reported >= REPORT_EVERY {
            progress(name, csv.rows() - reported);
            reported = csv.rows();
        }
    }
    progress(name, csv.rows() - reported);
    csv.finish()
}

fn place_customers(rng: &mut ChaCha8Rng, prefixes: &[Prefix], known: &HashSet<u32>, sizes: &mut Sizes) -> Vec<Customer> {
    let weights: Vec<f64> = STATES.iter().map(|s| f64::from(s.customers)).collect();
    let per_state = allocate(sizes.customers, &weights, &vec![usize::MAX; STATES.len()]);
    let mut by_state: Vec<Vec<&Prefix>> = vec![Vec::new(); STATES.len()];
    for p in prefixes {
        by_state[p.state].push(p);
    }
    let prefix_weights: Vec<f64> = by_state.iter().map(|v| v.len() as f64).collect();
    // Customers live where the geolocation table has points (all but ~0.15% of their prefixes,
    // added below): at large scales the distinct prefixes stop growing with the CEP numbering.
    let caps: Vec<usize> = (0..STATES.len()).map(|s| per_state[s].min(by_state[s].len())).collect();
    let distinct = allocate(sizes.customer_prefixes, &prefix_weights, &caps);
    sizes.customer_prefixes = distinct.iter().sum();
    // About 0.15% of customer prefixes have no geolocation row.
    let missing_total = ((sizes.customer_prefixes as f64 * 0.0015).round() as usize).max(1);
    let mut missing = vec![0usize; STATES.len()];
    let chooser = WeightedIndex::new(&distinct).ok();
    for _ in 0..missing_total {
        if let Some(chooser) = &chooser {
            let s = chooser.sample(rng);
            if missing[s] < distinct[s] {
                missing[s] += 1;
            }
        }
    }
    let mut customers = Vec::with_capacity(sizes.customers);
    for (s, state) in STATES.iter().enumerate() {
        if per_state[s] == 0 || distinct[s] == 0 {
            continue;
        }
        let pool = &by_state[s];
        let from_known = (distinct[s] - missing[s]).min(pool.len());
        let mut chosen: Vec<(u32, f64)> = rand::seq::index::sample(rng, pool.len(), from_known)
            .into_iter()
            .map(|i| (pool[i].code, pool[i].popularity))
            .collect();
        let all: Vec<u32> = crate::geography::prefixes_of(state).collect();
        let mut tries = 0;
        while chosen.len() < distinct[s] && tries < 10_000 {
            tries += 1;
            let code = all[rng.random_range(0..all.len())];
            if !known.contains(&code) && !chosen.iter().any(|(c, _)| *c == code) {
                chosen.push((code, 1.0));
            }
        }
        // Greater São Paulo (01000–09999) holds about a quarter of all customers.
        let weights: Vec<f64> = chosen
            .iter()
            .map(|&(code, w)| if code < 10_000 { w * 1.6 } else { w })
            .collect();
        for &(code, _) in &chosen {
            customers.push(Customer { prefix: code, state: s });
        }
        if let Ok(pick) = WeightedIndex::new(&weights) {
            for _ in chosen.len()..per_state[s] {
                customers.push(Customer {
                    prefix: chosen[pick.sample(rng)].0,
                    state: s,
                });
            }
        }
    }
    customers.shuffle(rng);
    sizes.customers = customers.len();
    sizes.orders = customers.len();
    customers
}

fn hex_id(rng: &mut ChaCha8Rng) -> String {
    format!("{:032x}", rng.random::<u128>())
}

/// A customer's city: plain lowercase, now and then with its accents.
fn customer_city(rng: &mut ChaCha8Rng, prefix: u32, state: &State) -> String {
    let name = if prefix == NORONHA.0 {
        NORONHA.1
    } else {
        state.cities[city_of(state, prefix)].name
    };
    spelt(rng, name, 0.01)
}

/// Writes customers; returns their `customer_id`s in file order.
fn write_customers(
    dir: &Path,
    rng: &mut ChaCha8Rng,
    customers: &[Customer],
    sizes: &Sizes,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Vec<String>, GenerateError> {
    let name = crate::FILES[2];
    let mut csv = CsvFile::create(dir, name, Style::Kaggle, crate::HEADERS[2])?;
    let unique = sizes.unique_customers.min(customers.len());
    let mut unique_ids: Vec<String> = Vec::with_capacity(unique);
    let mut ids = Vec::with_capacity(customers.len());
    let mut reported = 0;
    for (i, customer) in customers.iter().enumerate() {
        let id = hex_id(rng);
        let unique_id = if i < unique {
            unique_ids.push(hex_id(rng));
            unique_ids[i].clone()
        } else {
            unique_ids[rng.random_range(0..unique)].clone()
        };
        let state = &STATES[customer.state];
        let city = customer_city(rng, customer.prefix, state);
        let zip = format!("{:05}", customer.prefix);
        csv.row(&[
            Field::Text(&id),
            Field::Text(&unique_id),
            Field::Text(&zip),
            Field::Text(&city),
            Field::Text(state.code),
        ])?;
        ids.push(id);
        if csv.rows() - reported >= REPORT_EVERY {
            progress(name, csv.rows() - reported);
            reported = csv.rows();
        }
    }
    progress(name, csv.rows() - reported);
    csv.finish()?;
    Ok(ids)
}

fn place_sellers(rng: &mut ChaCha8Rng, prefixes: &[Prefix], known: &HashSet<u32>, sizes: &Sizes) -> Vec<Seller> {
    let weights: Vec<f64> = STATES.iter().map(|s| f64::from(s.sellers)).collect();
    let per_state = allocate(sizes.sellers, &weights, &vec![usize::MAX; STATES.len()]);
    let mut sellers = Vec::with_capacity(sizes.sellers);
    let mut junk = 0u8;
    for (s, state) in STATES.iter().enumerate() {
        let pool: Vec<&Prefix> = prefixes.iter().filter(|p| p.state == s).collect();
        if pool.is_empty() {
            continue;
        }
        let all: Vec<u32> = crate::geography::prefixes_of(state).collect();
        for _ in 0..per_state[s] {
            let mut prefix = pool[rng.random_range(0..pool.len())].code;
            // A few sellers' prefixes are missing from the geolocation table.
            if rng.random_bool(0.0025) {
                for _ in 0..100 {
                    let code = all[rng.random_range(0..all.len())];
                    if !known.contains(&code) {
                        prefix = code;
                        break;
                    }
                }
            }
            // Every kind of junk in turn, so each shows up even in a small dataset.
            let junk_city = rng.random_bool(0.012).then(|| {
                junk = junk.wrapping_add(1);
                junk % 5
            });
            sellers.push(Seller {
                id: hex_id(rng),
                prefix,
                state: s,
                junk_city,
            });
        }
    }
    sellers.shuffle(rng);
    sellers
}

/// What sellers typed instead of a city name.
fn junk_city(kind: u8, city: &str, state: &str, prefix: u32) -> String {
    let squashed: String = city.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    match kind {
        0 => format!("vendas@{squashed}.com.br"),
        1 => format!("{prefix:05}{:03}", prefix % 1000),
        2 => format!("{city}/{}", state.to_lowercase()),
        3 => format!("{city} - {}", state.to_lowercase()),
        _ => format!("{city}, {state}"),
    }
}

fn write_sellers(dir: &Path, sellers: &[Seller], progress: &mut dyn FnMut(&str, u64)) -> Result<(), GenerateError> {
    let name = crate::FILES[3];
    let mut csv = CsvFile::create(dir, name, Style::Kaggle, crate::HEADERS[3])?;
    for seller in sellers {
        let state = &STATES[seller.state];
        let city = plain(state.cities[city_of(state, seller.prefix)].name);
        let city = match seller.junk_city {
            Some(kind) => junk_city(kind, &city, state.code, seller.prefix),
            None => city,
        };
        let zip = format!("{:05}", seller.prefix);
        csv.row(&[
            Field::Text(&seller.id),
            Field::Text(&zip),
            Field::Text(&city),
            Field::Text(state.code),
        ])?;
    }
    progress(name, csv.rows());
    csv.finish()
}

fn write_products(
    dir: &Path,
    rng: &mut ChaCha8Rng,
    sellers: &[Seller],
    sizes: &Sizes,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Vec<Product>, GenerateError> {
    let name = crate::FILES[4];
    let mut csv = CsvFile::create(dir, name, Style::Kaggle, crate::HEADERS[4])?;
    let categories: Vec<&str> = TRANSLATED_CATEGORIES
        .iter()
        .map(|(pt, _)| *pt)
        .chain(UNTRANSLATED_CATEGORIES)
        .collect();
    // Zipf-like: bed_bath_table and friends lead, the tail is thin.
    let category_pick = WeightedIndex::new((1..=categories.len()).map(|r| 1.0 / r as f64)).ok();
    let seller_weights: Vec<f64> = sellers.iter().map(|_| popularity(rng)).collect();
    let seller_pick = WeightedIndex::new(&seller_weights).ok();
    let uncategorised: HashSet<usize> = rand::seq::index::sample(
        rng,
        sizes.products,
        ((610.0 * sizes.products as f64 / 32_951.0).round() as usize).min(sizes.products),
    )
    .into_iter()
    .collect();
    let unmeasured: HashSet<usize> = rand::seq::index::sample(
        rng,
        sizes.products,
        ((2.0 * sizes.products as f64 / 32_951.0).round() as usize).clamp(1, sizes.products),
    )
    .into_iter()
    .collect();
    let mut products = Vec::with_capacity(sizes.products);
    for i in 0..sizes.products {
        let id = hex_id(rng);
        let seller = seller_pick.as_ref().map_or(0, |p| p.sample(rng));
        let category = category_pick.as_ref().map_or(0, |p| p.sample(rng));
        let n = |rng: &mut ChaCha8Rng, a: u32, b: u32| rng.random_range(a..=b).to_string();
        let (name_len, desc_len, photos) = (n(rng, 5, 76), n(rng, 4, 3992), n(rng, 1, 6));
        let (weight, length, height, width) = (n(rng, 50, 30000), n(rng, 7, 105), n(rng, 2, 105), n(rng, 6, 118));
        let described = !uncategorised.contains(&i);
        let measured = !unmeasured.contains(&i);
        let category_field = if described {
            Field::Text(categories[category])
        } else {
            Field::Empty
        };
        csv.row(&[
            Field::Text(&id),
            category_field,
            present_or_empty(described, &name_len),
            present_or_empty(described, &desc_len),
            present_or_empty(described, &photos),
            present_or_empty(measured, &weight),
            present_or_empty(measured, &length),
            present_or_empty(measured, &height),
            present_or_empty(measured, &width),
        ])?;
        products.push(Product { id, seller });
    }
    progress(name, csv.rows());
    csv.finish()?;
    products.shuffle(rng);
    Ok(products)
}

/// `YYYY-MM-DD HH:MM:SS` of a Unix time (UTC), as the Kaggle files write times.
fn timestamp(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A value, or an empty field when absent.
fn present_or_empty(present: bool, value: &str) -> Field<'_> {
    if present { Field::Raw(value) } else { Field::Empty }
}

/// Midnight of the day of `secs`.
fn midnight(secs: i64) -> i64 {
    secs - secs.rem_euclid(86_400)
}

/// Spreads `extra` units over `slots` (only those with `eligible`), one at a time, at most
/// `cap` per slot.
fn spread_extra(rng: &mut ChaCha8Rng, counts: &mut [u8], eligible: &[usize], extra: usize, cap: u8) {
    if eligible.is_empty() {
        return;
    }
    let mut left = extra;
    let mut guard = 0;
    while left > 0 && guard < extra * 20 + 1000 {
        guard += 1;
        let slot = eligible[rng.random_range(0..eligible.len())];
        if counts[slot] < cap {
            counts[slot] += 1;
            left -= 1;
        }
    }
}

fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[allow(clippy::too_many_arguments)]
fn write_orders(
    dir: &Path,
    rng: &mut ChaCha8Rng,
    customer_ids: &[String],
    sellers: &[Seller],
    products: &[Product],
    sizes: &Sizes,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<(), GenerateError> {
    let kaggle = |name: &str, header: &[&str]| CsvFile::create(dir, name, Style::Kaggle, header);
    let mut orders = kaggle(crate::FILES[5], crate::HEADERS[5])?;
    let mut items = kaggle(crate::FILES[6], crate::HEADERS[6])?;
    let mut payments = kaggle(crate::FILES[7], crate::HEADERS[7])?;
    let mut reviews = kaggle(crate::FILES[8], crate::HEADERS[8])?;
    let n = customer_ids.len();
    let status_pick = WeightedIndex::new(ORDER_STATUSES.iter().map(|s| s.1)).ok();
    let statuses: Vec<usize> = (0..n).map(|_| status_pick.as_ref().map_or(0, |p| p.sample(rng))).collect();
    // Orders without items: the unavailable ones first, then canceled, as in the real data.
    let itemless_target = (775.0 * n as f64 / 99_441.0).round() as usize;
    let mut item_counts = vec![1u8; n];
    let mut itemless = 0;
    for wanted in ["unavailable", "canceled"] {
        for i in 0..n {
            if itemless < itemless_target && ORDER_STATUSES[statuses[i]].0 == wanted && item_counts[i] == 1 {
                item_counts[i] = 0;
                itemless += 1;
            }
        }
    }
    let with_items: Vec<usize> = (0..n).filter(|&i| item_counts[i] > 0).collect();
    spread_extra(
        rng,
        &mut item_counts,
        &with_items,
        sizes.order_items.saturating_sub(with_items.len()),
        21,
    );
    let mut payment_counts = vec![1u8; n];
    let everyone: Vec<usize> = (0..n).collect();
    spread_extra(rng, &mut payment_counts, &everyone, sizes.payments.saturating_sub(n), 29);
    let mut review_counts = vec![0u8; n];
    let mut reviewed: Vec<usize> = (0..n).collect();
    reviewed.shuffle(rng);
    reviewed.truncate(sizes.reviews.min(n * 99 / 100).max(1).min(n));
    for &i in &reviewed {
        review_counts[i] = 1;
    }
    spread_extra(
        rng,
        &mut review_counts,
        &reviewed,
        sizes.reviews.saturating_sub(reviewed.len()),
        3,
    );
    let product_pick = WeightedIndex::new(products.iter().map(|_| popularity(rng))).ok();
    let payment_pick = WeightedIndex::new(FIRST_PAYMENT.iter().map(|p| p.1)).ok();
    let score_pick = WeightedIndex::new(REVIEW_SCORES).ok();
    let duplicate_review_share = 814.0 / 99_224.0;
    let mut last_review_id = String::new();
    let mut reported = 0u64;

    for (i, customer_id) in customer_ids.iter().enumerate() {
        let order_id = hex_id(rng);
        let status = ORDER_STATUSES[statuses[i]].0;
        let span = (LAST_PURCHASE - FIRST_PURCHASE) as f64;
        // More orders as the marketplace grew.
        let purchase = FIRST_PURCHASE + (span * rng.random::<f64>().sqrt()) as i64;
        let approved = purchase + rng.random_range(600..86_400 * 2);
        let carrier = approved + rng.random_range(86_400..86_400 * 6);
        let delivered = carrier + rng.random_range(86_400..86_400 * 20);
        let estimated = midnight(purchase) + 86_400 * rng.random_range(10..45);
        let has_approval = !matches!(status, "created") && !rng.random_bool(0.0012);
        let shipped = matches!(status, "delivered" | "shipped");
        let arrived = status == "delivered" && !rng.random_bool(0.0001);
        let when = |present: bool, t: i64| if present { timestamp(t) } else { String::new() };
        let (a, c, d) = (when(has_approval, approved), when(shipped, carrier), when(arrived, delivered));
        orders.row(&[
            Field::Text(&order_id),
            Field::Text(customer_id),
            Field::Text(status),
            Field::Raw(&timestamp(purchase)),
            present_or_empty(!a.is_empty(), &a),
            present_or_empty(!c.is_empty(), &c),
            present_or_empty(!d.is_empty(), &d),
            Field::Raw(&timestamp(estimated)),
        ])?;

        let mut total_cents = 0u64;
        let mut product = None;
        for item in 1..=item_counts[i] {
            let chosen = match product {
                Some(p) if rng.random_bool(0.7) => p,
                _ => product_pick.as_ref().map_or(0, |pick| pick.sample(rng)),
            };
            product = Some(chosen);
            let (price, freight) = (
                ((8.0 + 75.0 * (0.9 * normal(rng)).exp()) * 100.0).round() as u64,
                ((4.0 + 12.0 * (0.5 * normal(rng)).exp()) * 100.0).round() as u64,
            );
            total_cents += price + freight;
            let p = &products[chosen];
            items.row(&[
                Field::Text(&order_id),
                Field::Raw(&item.to_string()),
                Field::Text(&p.id),
                Field::Text(&sellers[p.seller].id),
                Field::Raw(&timestamp(purchase + 86_400 * 6 + rng.random_range(0..3600))),
                Field::Raw(&money(price)),
                Field::Raw(&money(freight)),
            ])?;
        }
        if total_cents == 0 {
            total_cents = rng.random_range(1_000..50_000);
        }

        let count = u64::from(payment_counts[i]);
        let mut left = total_cents;
        for sequential in 1..=count {
            let kind = if sequential == 1 {
                FIRST_PAYMENT[payment_pick.as_ref().map_or(0, |p| p.sample(rng))].0
            } else {
                "voucher"
            };
            let value = if sequential == count {
                left
            } else {
                let share = left / (count - sequential + 1);
                rng.random_range(share / 2..=share.max(1))
            };
            left -= value.min(left);
            let installments = if kind == "credit_card" {
                *[1, 1, 1, 2, 3, 4, 5, 6, 8, 10].get(rng.random_range(0..10)).unwrap_or(&1)
            } else {
                1
            };
            payments.row(&[
                Field::Text(&order_id),
                Field::Raw(&sequential.to_string()),
                Field::Text(kind),
                Field::Raw(&installments.to_string()),
                Field::Raw(&money(value)),
            ])?;
        }

        for _ in 0..review_counts[i] {
            let review_id = if !last_review_id.is_empty() && rng.random_bool(duplicate_review_share) {
                last_review_id.clone()
            } else {
                hex_id(rng)
            };
            let score = score_pick.as_ref().map_or(4, |p| p.sample(rng)) + 1;
            let title = rng.random_bool(0.117).then(|| TITLES[rng.random_range(0..TITLES.len())]);
            let message = rng.random_bool(0.413).then(|| MESSAGES[rng.random_range(0..MESSAGES.len())]);
            let created = midnight(if arrived { delivered } else { estimated }) + 86_400;
            let answered = created + rng.random_range(3_600..86_400 * 4);
            reviews.row(&[
                Field::Text(&review_id),
                Field::Text(&order_id),
                Field::Raw(&score.to_string()),
                title.map_or(Field::Empty, Field::Text),
                message.map_or(Field::Empty, Field::Text),
                Field::Raw(&timestamp(created)),
                Field::Raw(&timestamp(answered)),
            ])?;
            last_review_id = review_id;
        }
        let done = orders.rows() + items.rows() + payments.rows() + reviews.rows();
        if done - reported >= REPORT_EVERY {
            progress("orders, items, payments, reviews", done - reported);
            reported = done;
        }
    }
    let done = orders.rows() + items.rows() + payments.rows() + reviews.rows();
    progress("orders, items, payments, reviews", done - reported);
    orders.finish()?;
    items.finish()?;
    payments.finish()?;
    reviews.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_kaggle_style() {
        assert_eq!(timestamp(FIRST_PURCHASE), "2016-09-04 21:15:19");
        assert_eq!(timestamp(LAST_PURCHASE), "2018-10-17 17:30:18");
        assert_eq!(timestamp(midnight(LAST_PURCHASE)), "2018-10-17 00:00:00");
    }

    #[test]
    fn allocation_is_exact_and_respects_caps() {
        let got = allocate(100, &[3.0, 1.0, 1.0], &[50, 100, 100]);
        assert_eq!(got.iter().sum::<usize>(), 100);
        assert_eq!(got[0], 50);
        let got = allocate(19_015, &[1.0; 7], &[usize::MAX; 7]);
        assert_eq!(got.iter().sum::<usize>(), 19_015);
    }
}
