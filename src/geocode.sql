-- Lagoa's Olist geocode join, as `lagoa geocode` runs it once it has put in the input location
-- (s3://BUCKET/PREFIX) and the output location (s3://BUCKET/OUT). Plain DataFusion SQL plus
-- Lagoa's zip5, in_brazil and haversine_km: run it by hand with `lagoa sql --file geocode.sql`.

-- The inputs, by their Kaggle names, every column as the file writes it.
CREATE EXTERNAL TABLE geolocation (
  geolocation_zip_code_prefix VARCHAR, geolocation_lat DOUBLE, geolocation_lng DOUBLE,
  geolocation_city VARCHAR, geolocation_state VARCHAR)
STORED AS CSV LOCATION '{input}olist_geolocation_dataset.csv' OPTIONS ('format.has_header' 'true');
CREATE EXTERNAL TABLE customers (
  customer_id VARCHAR, customer_unique_id VARCHAR, customer_zip_code_prefix VARCHAR,
  customer_city VARCHAR, customer_state VARCHAR)
STORED AS CSV LOCATION '{input}olist_customers_dataset.csv' OPTIONS ('format.has_header' 'true');
CREATE EXTERNAL TABLE sellers (
  seller_id VARCHAR, seller_zip_code_prefix VARCHAR, seller_city VARCHAR, seller_state VARCHAR)
STORED AS CSV LOCATION '{input}olist_sellers_dataset.csv' OPTIONS ('format.has_header' 'true');
CREATE EXTERNAL TABLE orders (
  order_id VARCHAR, customer_id VARCHAR, order_status VARCHAR, order_purchase_timestamp VARCHAR,
  order_approved_at VARCHAR, order_delivered_carrier_date VARCHAR,
  order_delivered_customer_date VARCHAR, order_estimated_delivery_date VARCHAR)
STORED AS CSV LOCATION '{input}olist_orders_dataset.csv' OPTIONS ('format.has_header' 'true');
CREATE EXTERNAL TABLE order_items (
  order_id VARCHAR, order_item_id BIGINT, product_id VARCHAR, seller_id VARCHAR,
  shipping_limit_date VARCHAR, price DOUBLE, freight_value DOUBLE)
STORED AS CSV LOCATION '{input}olist_order_items_dataset.csv' OPTIONS ('format.has_header' 'true');

-- One row per zip prefix: the median of its points inside Brazil (points abroad are dropped;
-- the median shrugs off the few far from the rest), how many there are, their spread (the
-- standard distance: root-mean-square km from their mean), and the states they name.
CREATE TABLE centroids AS
SELECT zip5,
       median(lat) AS lat,
       median(lng) AS lng,
       count(*) AS points,
       6371.0088 * radians(1) * sqrt(var_pop(lat) + var_pop(lng) * power(cos(radians(avg(lat))), 2)) AS spread_km,
       array_sort(array_agg(DISTINCT state)) AS states
FROM (SELECT zip5(geolocation_zip_code_prefix) AS zip5, geolocation_lat AS lat, geolocation_lng AS lng,
             upper(trim(geolocation_state)) AS state
      FROM geolocation
      WHERE in_brazil(geolocation_lat, geolocation_lng))
WHERE zip5 IS NOT NULL
GROUP BY zip5;

-- Every (prefix, state) a customer or seller names, with its coordinates: the prefix's own
-- centroid ('exact'), else the numerically nearest prefix of the same state that has one
-- ('approximate'; CEPs are numbered along the map, ties go to the lower prefix). The nearest
-- prefixes below and above come from one sort per state, not from pairing every unlocated
-- place with every prefix.
CREATE TABLE places AS
SELECT DISTINCT zip5(customer_zip_code_prefix) AS zip5, upper(trim(customer_state)) AS state FROM customers
UNION
SELECT DISTINCT zip5(seller_zip_code_prefix), upper(trim(seller_state)) FROM sellers;

CREATE TABLE nearest_prefixes AS
SELECT zip5, state,
       CASE WHEN below IS NULL THEN above
            WHEN above IS NULL THEN below
            WHEN CAST(zip5 AS BIGINT) - CAST(below AS BIGINT) <= CAST(above AS BIGINT) - CAST(zip5 AS BIGINT) THEN below
            ELSE above END AS nearest
FROM (SELECT zip5, state, known,
             last_value(known) IGNORE NULLS OVER (PARTITION BY state ORDER BY zip5
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS below,
             first_value(known) IGNORE NULLS OVER (PARTITION BY state ORDER BY zip5
                 ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS above
      FROM (SELECT zip5, unnest(states) AS state, zip5 AS known FROM centroids
            UNION ALL
            SELECT zip5, state, CAST(NULL AS VARCHAR) FROM places
            WHERE zip5 IS NOT NULL AND zip5 NOT IN (SELECT zip5 FROM centroids)))
WHERE known IS NULL;

CREATE TABLE located_places AS
SELECT p.zip5, p.state, c.lat, c.lng, 'exact' AS match
FROM places p JOIN centroids c ON p.zip5 = c.zip5
UNION ALL
SELECT n.zip5, n.state, c.lat, c.lng, 'approximate' AS match
FROM nearest_prefixes n JOIN centroids c ON n.nearest = c.zip5;

CREATE VIEW customers_geo AS
SELECT c.customer_id, c.customer_unique_id, c.customer_zip_code_prefix, c.customer_city, c.customer_state,
       zip5(c.customer_zip_code_prefix) AS zip5, l.lat, l.lng, coalesce(l.match, 'none') AS match
FROM customers c
LEFT JOIN located_places l
  ON zip5(c.customer_zip_code_prefix) = l.zip5 AND upper(trim(c.customer_state)) = l.state;

CREATE VIEW sellers_geo AS
SELECT s.seller_id, s.seller_zip_code_prefix, s.seller_city, s.seller_state,
       zip5(s.seller_zip_code_prefix) AS zip5, l.lat, l.lng, coalesce(l.match, 'none') AS match
FROM sellers s
LEFT JOIN located_places l
  ON zip5(s.seller_zip_code_prefix) = l.zip5 AND upper(trim(s.seller_state)) = l.state;

-- The outputs: one Parquet file per dataset.
COPY (SELECT * FROM centroids ORDER BY zip5) TO '{output}zip_centroids/part-00000.parquet' STORED AS PARQUET;
COPY (SELECT * FROM customers_geo) TO '{output}customers_geo/part-00000.parquet' STORED AS PARQUET;
COPY (SELECT * FROM sellers_geo) TO '{output}sellers_geo/part-00000.parquet' STORED AS PARQUET;
COPY (SELECT i.order_id, i.order_item_id, i.seller_id, o.customer_id,
             haversine_km(s.lat, s.lng, c.lat, c.lng) AS distance_km
      FROM order_items i
      JOIN orders o ON i.order_id = o.order_id
      JOIN sellers_geo s ON i.seller_id = s.seller_id
      JOIN customers_geo c ON o.customer_id = c.customer_id
      WHERE s.lat IS NOT NULL AND c.lat IS NOT NULL)
TO '{output}order_distances/part-00000.parquet' STORED AS PARQUET;
CREATE TABLE summary AS
SELECT 'customers' AS dataset, count(*) AS rows,
       count(*) FILTER (WHERE match = 'exact') AS exact,
       count(*) FILTER (WHERE match = 'approximate') AS approximate,
       count(*) FILTER (WHERE match = 'none') AS none
FROM customers_geo
UNION ALL
SELECT 'sellers', count(*), count(*) FILTER (WHERE match = 'exact'),
       count(*) FILTER (WHERE match = 'approximate'), count(*) FILTER (WHERE match = 'none')
FROM sellers_geo;
COPY (SELECT * FROM summary) TO '{output}summary/part-00000.parquet' STORED AS PARQUET;
SELECT * FROM summary ORDER BY dataset;
