//! The dataset's vocabulary: categories and their English names (the real translation file,
//! typos and all), review texts, statuses and payment types with their real frequencies.

/// The translation file's 71 rows, in its order.
pub const TRANSLATED_CATEGORIES: [(&str, &str); 71] = [
    ("beleza_saude", "health_beauty"),
    ("informatica_acessorios", "computers_accessories"),
    ("automotivo", "auto"),
    ("cama_mesa_banho", "bed_bath_table"),
    ("moveis_decoracao", "furniture_decor"),
    ("esporte_lazer", "sports_leisure"),
    ("perfumaria", "perfumery"),
    ("utilidades_domesticas", "housewares"),
    ("telefonia", "telephony"),
    ("relogios_presentes", "watches_gifts"),
    ("alimentos_bebidas", "food_drink"),
    ("bebes", "baby"),
    ("papelaria", "stationery"),
    ("tablets_impressao_imagem", "tablets_printing_image"),
    ("brinquedos", "toys"),
    ("telefonia_fixa", "fixed_telephony"),
    ("ferramentas_jardim", "garden_tools"),
    ("fashion_bolsas_e_acessorios", "fashion_bags_accessories"),
    ("eletroportateis", "small_appliances"),
    ("consoles_games", "consoles_games"),
    ("audio", "audio"),
    ("fashion_calcados", "fashion_shoes"),
    ("cool_stuff", "cool_stuff"),
    ("malas_acessorios", "luggage_accessories"),
    ("climatizacao", "air_conditioning"),
    ("construcao_ferramentas_construcao", "construction_tools_construction"),
    (
        "moveis_cozinha_area_de_servico_jantar_e_jardim",
        "kitchen_dining_laundry_garden_furniture",
    ),
    ("construcao_ferramentas_jardim", "costruction_tools_garden"),
    ("fashion_roupa_masculina", "fashion_male_clothing"),
    ("pet_shop", "pet_shop"),
    ("moveis_escritorio", "office_furniture"),
    ("market_place", "market_place"),
    ("eletronicos", "electronics"),
    ("eletrodomesticos", "home_appliances"),
    ("artigos_de_festas", "party_supplies"),
    ("casa_conforto", "home_confort"),
    ("construcao_ferramentas_ferramentas", "costruction_tools_tools"),
    ("agro_industria_e_comercio", "agro_industry_and_commerce"),
    ("moveis_colchao_e_estofado", "furniture_mattress_and_upholstery"),
    ("livros_tecnicos", "books_technical"),
    ("casa_construcao", "home_construction"),
    ("instrumentos_musicais", "musical_instruments"),
    ("moveis_sala", "furniture_living_room"),
    ("construcao_ferramentas_iluminacao", "construction_tools_lights"),
    ("industria_comercio_e_negocios", "industry_commerce_and_business"),
    ("alimentos", "food"),
    ("artes", "art"),
    ("moveis_quarto", "furniture_bedroom"),
    ("livros_interesse_geral", "books_general_interest"),
    ("construcao_ferramentas_seguranca", "construction_tools_safety"),
    ("fashion_underwear_e_moda_praia", "fashion_underwear_beach"),
    ("fashion_esporte", "fashion_sport"),
    ("sinalizacao_e_seguranca", "signaling_and_security"),
    ("pcs", "computers"),
    ("artigos_de_natal", "christmas_supplies"),
    ("fashion_roupa_feminina", "fashio_female_clothing"),
    ("eletrodomesticos_2", "home_appliances_2"),
    ("livros_importados", "books_imported"),
    ("bebidas", "drinks"),
    ("cine_foto", "cine_photo"),
    ("la_cuisine", "la_cuisine"),
    ("musica", "music"),
    ("casa_conforto_2", "home_comfort_2"),
    ("portateis_casa_forno_e_cafe", "small_appliances_home_oven_and_coffee"),
    ("cds_dvds_musicais", "cds_dvds_musicals"),
    ("dvds_blu_ray", "dvds_blu_ray"),
    ("flores", "flowers"),
    ("artes_e_artesanato", "arts_and_craftmanship"),
    ("fraldas_higiene", "diapers_and_hygiene"),
    ("fashion_roupa_infanto_juvenil", "fashion_childrens_clothes"),
    ("seguros_e_servicos", "security_and_services"),
];

/// Categories products use that the translation file lacks (as in the real data).
pub const UNTRANSLATED_CATEGORIES: [&str; 2] = ["pc_gamer", "portateis_cozinha_e_preparadores_de_alimentos"];

/// Order statuses and their real counts (99,441 orders).
pub const ORDER_STATUSES: [(&str, u32); 8] = [
    ("delivered", 96478),
    ("shipped", 1107),
    ("canceled", 625),
    ("unavailable", 609),
    ("invoiced", 314),
    ("processing", 301),
    ("created", 5),
    ("approved", 2),
];

/// Payment types of an order's first payment, weighted so the totals land near the real
/// 76,795 credit_card / 19,784 boleto / 5,775 voucher / 1,529 debit_card / 3 not_defined.
pub const FIRST_PAYMENT: [(&str, u32); 5] = [
    ("credit_card", 76795),
    ("boleto", 19784),
    ("voucher", 1800),
    ("debit_card", 1529),
    ("not_defined", 3),
];

/// Review scores 1–5 and their real counts (99,224 reviews).
pub const REVIEW_SCORES: [u32; 5] = [11424, 3151, 8179, 19142, 57328];

/// Review titles.
pub const TITLES: [&str; 10] = [
    "Super recomendo",
    "Ótimo",
    "recomendo",
    "Bom",
    "Excelente",
    "Não recebi",
    "Muito bom",
    "Produto com defeito",
    "Entrega rápida",
    "Péssimo",
];

/// Review messages; some hold commas, quotes and line breaks, as real ones do.
pub const MESSAGES: [&str; 16] = [
    "Recebi bem antes do prazo estipulado.",
    "Parabéns lojas lannister adorei comprar pela Internet seguro e prático Parabéns a todos feliz Páscoa",
    "aparelho eficiente. no site a marca do aparelho esta impresso como 3desinfector e ao chegar esta com outro nome...",
    "Vendedor confiável, produto ok e entrega antes do prazo.",
    "Mas um pouco ,travando...pelo valor ta Boa.\r\n",
    "Não chegou meu produto ,",
    "produto muito bom",
    "O produto veio \"com defeito\", mas a loja trocou rápido.",
    "Muito bom o produto.\nRecomendo!",
    "Comprei dois, chegou só um",
    "Entrega super rápida",
    "Produto de ótima qualidade, \"original\" como descrito.",
    "Péssimo atendimento.\r\nNão recomendo a ninguém.",
    "tudo certo",
    "Chegou antes do prazo. Obrigada",
    "A entrega atrasou muito e ninguém responde",
];
