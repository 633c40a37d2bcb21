//! Brazil as the Olist data sees it: the 27 states (federative units), the CEP prefix ranges the
//! Correios assign them, their share of customers, sellers and geolocation rows in the real
//! dataset, and cities to place prefixes around (capital first: it holds the lowest prefixes
//! of its state, as in the real numbering).

/// A city prefixes are placed around.
pub struct City {
    /// Proper spelling, accents included.
    pub name: &'static str,
    pub lat: f64,
    pub lng: f64,
    /// Share of the state's prefix range (and, by default, of its customers).
    pub share: f64,
}

/// One federative unit.
pub struct State {
    pub code: &'static str,
    /// CEP prefix ranges, inclusive (5-digit prefixes).
    pub ranges: &'static [(u32, u32)],
    /// Customers in the real data (99,441 in all).
    pub customers: u32,
    /// Sellers in the real data (3,095 in all).
    pub sellers: u32,
    /// Geolocation rows in the real data (about a million in all).
    pub geolocation_rows: u32,
    pub cities: &'static [City],
}

const fn city(name: &'static str, lat: f64, lng: f64, share: f64) -> City {
    City { name, lat, lng, share }
}

/// The states, largest first.
pub const STATES: &[State] = &[
    State {
        code: "SP",
        ranges: &[(1000, 19999)],
        customers: 41746,
        sellers: 1849,
        geolocation_rows: 404268,
        // Greater São Paulo holds 01000–09999; the interior follows the numbering.
        cities: &[
            city("São Paulo", -23.5505, -46.6333, 0.28),
            city("Guarulhos", -23.4538, -46.5333, 0.04),
            city("Osasco", -23.5325, -46.7917, 0.05),
            city("São Bernardo do Campo", -23.6914, -46.5646, 0.05),
            city("Mogi das Cruzes", -23.5208, -46.1854, 0.05),
            city("Santos", -23.9608, -46.3336, 0.053),
            city("São José dos Campos", -23.1896, -45.8841, 0.053),
            city("Campinas", -22.9056, -47.0608, 0.053),
            city("Ribeirão Preto", -21.1775, -47.8103, 0.035),
            city("Franca", -20.5386, -47.4008, 0.018),
            city("São José do Rio Preto", -20.8113, -49.3758, 0.053),
            city("Araçatuba", -21.2089, -50.4328, 0.053),
            city("Bauru", -22.3246, -49.0871, 0.053),
            city("Sorocaba", -23.5015, -47.4526, 0.053),
            city("Presidente Prudente", -22.1256, -51.3889, 0.053),
        ],
    },
    State {
        code: "RJ",
        ranges: &[(20000, 28999)],
        customers: 12852,
        sellers: 171,
        geolocation_rows: 121169,
        cities: &[
            city("Rio de Janeiro", -22.9068, -43.1729, 0.45),
            city("Niterói", -22.8832, -43.1034, 0.15),
            city("Petrópolis", -22.5112, -43.1779, 0.15),
            city("Volta Redonda", -22.5202, -44.0996, 0.1),
            city("Campos dos Goytacazes", -21.7545, -41.3244, 0.15),
        ],
    },
    State {
        code: "MG",
        ranges: &[(30000, 39999)],
        customers: 11635,
        sellers: 244,
        geolocation_rows: 126336,
        cities: &[
            city("Belo Horizonte", -19.9167, -43.9345, 0.3),
            city("Contagem", -19.9321, -44.0539, 0.1),
            city("Juiz de Fora", -21.7642, -43.3503, 0.15),
            city("Uberlândia", -18.9186, -48.2772, 0.15),
            city("Governador Valadares", -18.8545, -41.9555, 0.1),
            city("Montes Claros", -16.7350, -43.8617, 0.1),
            city("Poços de Caldas", -21.7878, -46.5614, 0.1),
        ],
    },
    State {
        code: "RS",
        ranges: &[(90000, 99999)],
        customers: 5466,
        sellers: 129,
        geolocation_rows: 61851,
        cities: &[
            city("Porto Alegre", -30.0346, -51.2177, 0.35),
            city("Caxias do Sul", -29.1678, -51.1794, 0.15),
            city("Pelotas", -31.7654, -52.3376, 0.15),
            city("Santa Maria", -29.6842, -53.8069, 0.15),
            city("Passo Fundo", -28.2620, -52.4083, 0.2),
        ],
    },
    State {
        code: "PR",
        ranges: &[(80000, 87999)],
        customers: 5045,
        sellers: 349,
        geolocation_rows: 57859,
        cities: &[
            city("Curitiba", -25.4284, -49.2733, 0.35),
            city("Ponta Grossa", -25.0945, -50.1633, 0.15),
            city("Cascavel", -24.9555, -53.4552, 0.15),
            city("Londrina", -23.3045, -51.1696, 0.2),
            city("Maringá", -23.4205, -51.9333, 0.15),
        ],
    },
    State {
        code: "SC",
        ranges: &[(88000, 89999)],
        customers: 3637,
        sellers: 190,
        geolocation_rows: 38328,
        cities: &[
            city("Florianópolis", -27.5954, -48.5480, 0.3),
            city("Joinville", -26.3045, -48.8487, 0.25),
            city("Blumenau", -26.9194, -49.0661, 0.25),
            city("Chapecó", -27.1004, -52.6152, 0.2),
        ],
    },
    State {
        code: "BA",
        ranges: &[(40000, 48999)],
        customers: 3380,
        sellers: 19,
        geolocation_rows: 36045,
        cities: &[
            city("Salvador", -12.9714, -38.5014, 0.35),
            city("Feira de Santana", -12.2664, -38.9663, 0.15),
            city("Vitória da Conquista", -14.8615, -40.8442, 0.15),
            city("Ilhéus", -14.7936, -39.0464, 0.15),
            city("Barreiras", -12.1528, -44.9900, 0.2),
        ],
    },
    State {
        code: "GO",
        ranges: &[(72800, 72999), (73700, 76799)],
        customers: 2020,
        sellers: 40,
        geolocation_rows: 20139,
        cities: &[
            city("Goiânia", -16.6869, -49.2648, 0.4),
            city("Anápolis", -16.3281, -48.9530, 0.3),
            city("Rio Verde", -17.7923, -50.9192, 0.3),
        ],
    },
    State {
        code: "ES",
        ranges: &[(29000, 29999)],
        customers: 2033,
        sellers: 23,
        geolocation_rows: 16748,
        cities: &[
            city("Vitória", -20.3155, -40.3128, 0.4),
            city("Cachoeiro de Itapemirim", -20.8489, -41.1129, 0.3),
            city("Colatina", -19.5389, -40.6306, 0.3),
        ],
    },
    State {
        code: "PE",
        ranges: &[(50000, 56999)],
        customers: 1652,
        sellers: 9,
        geolocation_rows: 16432,
        cities: &[
            city("Recife", -8.0476, -34.9011, 0.4),
            city("Caruaru", -8.2760, -35.9819, 0.3),
            city("Petrolina", -9.3891, -40.5030, 0.3),
        ],
    },
    State {
        code: "DF",
        ranges: &[(70000, 72799), (73000, 73699)],
        customers: 2140,
        sellers: 30,
        geolocation_rows: 12986,
        cities: &[
            city("Brasília", -15.7939, -47.8828, 0.6),
            city("Taguatinga", -15.8333, -48.0564, 0.4),
        ],
    },
    State {
        code: "MT",
        ranges: &[(78000, 78899)],
        customers: 907,
        sellers: 4,
        geolocation_rows: 12031,
        cities: &[
            city("Cuiabá", -15.6014, -56.0979, 0.4),
            city("Rondonópolis", -16.4673, -54.6372, 0.3),
            city("Sinop", -11.8642, -55.5095, 0.3),
        ],
    },
    State {
        code: "CE",
        ranges: &[(60000, 63999)],
        customers: 1336,
        sellers: 13,
        geolocation_rows: 11674,
        cities: &[
            city("Fortaleza", -3.7319, -38.5267, 0.45),
            city("Sobral", -3.6880, -40.3497, 0.25),
            city("Juazeiro do Norte", -7.2130, -39.3151, 0.3),
        ],
    },
    State {
        code: "PA",
        ranges: &[(66000, 68899)],
        customers: 975,
        sellers: 1,
        geolocation_rows: 10853,
        cities: &[
            city("Belém", -1.4558, -48.4902, 0.4),
            city("Marabá", -5.3686, -49.1178, 0.3),
            city("Santarém", -2.4430, -54.7082, 0.3),
        ],
    },
    State {
        code: "MS",
        ranges: &[(79000, 79999)],
        customers: 715,
        sellers: 5,
        geolocation_rows: 10431,
        cities: &[
            city("Campo Grande", -20.4697, -54.6201, 0.5),
            city("Dourados", -22.2231, -54.8120, 0.5),
        ],
    },
    State {
        code: "MA",
        ranges: &[(65000, 65999)],
        customers: 747,
        sellers: 1,
        geolocation_rows: 7853,
        cities: &[
            city("São Luís", -2.5307, -44.3068, 0.5),
            city("Imperatriz", -5.5185, -47.4777, 0.5),
        ],
    },
    State {
        code: "PB",
        ranges: &[(58000, 58999)],
        customers: 536,
        sellers: 6,
        geolocation_rows: 5538,
        cities: &[
            city("João Pessoa", -7.1195, -34.8850, 0.5),
            city("Campina Grande", -7.2307, -35.8817, 0.5),
        ],
    },
    State {
        code: "RN",
        ranges: &[(59000, 59999)],
        customers: 485,
        sellers: 5,
        geolocation_rows: 5041,
        cities: &[city("Natal", -5.7945, -35.2110, 0.5), city("Mossoró", -5.1878, -37.3440, 0.5)],
    },
    State {
        code: "PI",
        ranges: &[(64000, 64999)],
        customers: 495,
        sellers: 1,
        geolocation_rows: 4549,
        cities: &[
            city("Teresina", -5.0919, -42.8034, 0.6),
            city("Parnaíba", -2.9055, -41.7734, 0.4),
        ],
    },
    State {
        code: "AL",
        ranges: &[(57000, 57999)],
        customers: 413,
        sellers: 0,
        geolocation_rows: 4183,
        cities: &[
            city("Maceió", -9.6658, -35.7353, 0.6),
            city("Arapiraca", -9.7521, -36.6613, 0.4),
        ],
    },
    State {
        code: "TO",
        ranges: &[(77000, 77999)],
        customers: 280,
        sellers: 0,
        geolocation_rows: 3576,
        cities: &[
            city("Palmas", -10.1844, -48.3336, 0.5),
            city("Araguaína", -7.1911, -48.2072, 0.5),
        ],
    },
    State {
        code: "SE",
        ranges: &[(49000, 49999)],
        customers: 350,
        sellers: 2,
        geolocation_rows: 3563,
        cities: &[
            city("Aracaju", -10.9472, -37.0731, 0.6),
            city("Lagarto", -10.9170, -37.6503, 0.4),
        ],
    },
    State {
        code: "RO",
        ranges: &[(76800, 76999), (78900, 78999)],
        customers: 253,
        sellers: 2,
        geolocation_rows: 3478,
        cities: &[
            city("Porto Velho", -8.7612, -63.9004, 0.5),
            city("Ji-Paraná", -10.8777, -61.9322, 0.5),
        ],
    },
    State {
        code: "AM",
        ranges: &[(69000, 69299), (69400, 69899)],
        customers: 148,
        sellers: 1,
        geolocation_rows: 2432,
        cities: &[
            city("Manaus", -3.1190, -60.0217, 0.6),
            city("Parintins", -2.6283, -56.7358, 0.4),
        ],
    },
    State {
        code: "AC",
        ranges: &[(69900, 69999)],
        customers: 81,
        sellers: 1,
        geolocation_rows: 1301,
        cities: &[
            city("Rio Branco", -9.9754, -67.8249, 0.6),
            city("Cruzeiro do Sul", -7.6307, -72.6700, 0.4),
        ],
    },
    State {
        code: "AP",
        ranges: &[(68900, 68999)],
        customers: 68,
        sellers: 0,
        geolocation_rows: 853,
        cities: &[city("Macapá", 0.0349, -51.0694, 1.0)],
    },
    State {
        code: "RR",
        ranges: &[(69300, 69399)],
        customers: 46,
        sellers: 0,
        geolocation_rows: 646,
        cities: &[city("Boa Vista", 2.8235, -60.6758, 1.0)],
    },
];

/// Fernando de Noronha: a genuine Pernambuco prefix whose points lie east of −34° longitude.
pub const NORONHA: (u32, &str, f64, f64) = (53990, "Fernando de Noronha", -3.8547, -32.4244);

/// Places far outside Brazil that real geolocation rows point to (geocoding mistakes).
pub const ABROAD: &[(f64, f64)] = &[
    (38.7223, -9.1393),  // Lisbon
    (41.1579, -8.6291),  // Porto
    (41.9028, 12.4964),  // Rome
    (45.4642, 9.1900),   // Milan
    (28.1235, -15.4363), // Las Palmas, Canary Islands
    (42.4406, -76.4966), // Ithaca, New York
];

/// Every state's prefixes, in the order of its ranges.
pub fn prefixes_of(state: &State) -> impl Iterator<Item = u32> + '_ {
    state.ranges.iter().flat_map(|&(a, b)| a..=b)
}

/// How many prefixes `state` has.
pub fn range_size(state: &State) -> u32 {
    state.ranges.iter().map(|&(a, b)| b - a + 1).sum()
}

/// The city a prefix belongs to: by its position in the state's ranges, the cities' shares in
/// order.
pub fn city_of(state: &State, prefix: u32) -> usize {
    let mut offset = 0;
    for &(a, b) in state.ranges {
        if (a..=b).contains(&prefix) {
            offset += prefix - a;
            break;
        }
        offset += b - a + 1;
    }
    let position = f64::from(offset) / f64::from(range_size(state));
    let total: f64 = state.cities.iter().map(|c| c.share).sum();
    let mut cumulative = 0.0;
    for (i, city) in state.cities.iter().enumerate() {
        cumulative += city.share / total;
        if position < cumulative {
            return i;
        }
    }
    state.cities.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_totals_add_up() {
        assert_eq!(STATES.len(), 27);
        assert_eq!(STATES.iter().map(|s| s.customers).sum::<u32>(), 99_441);
        assert_eq!(STATES.iter().map(|s| s.sellers).sum::<u32>(), 3_095);
        let rows: u32 = STATES.iter().map(|s| s.geolocation_rows).sum();
        assert!((990_000..=1_010_000).contains(&rows), "{rows}");
    }

    #[test]
    fn ranges_do_not_overlap_and_cover_the_numbering() {
        let mut all: Vec<(u32, u32)> = STATES.iter().flat_map(|s| s.ranges.iter().copied()).collect();
        all.sort();
        assert_eq!(all[0].0, 1000);
        for pair in all.windows(2) {
            assert_eq!(pair[0].1 + 1, pair[1].0, "{pair:?}");
        }
        assert_eq!(all[all.len() - 1].1, 99999);
    }

    #[test]
    fn greater_sao_paulo_holds_the_prefixes_below_ten_thousand() {
        let sp = &STATES[0];
        for prefix in [1000, 5000, 9999] {
            assert!(city_of(sp, prefix) <= 4, "{prefix}");
        }
        assert_eq!(sp.cities[city_of(sp, 13023)].name, "Campinas");
    }
}
