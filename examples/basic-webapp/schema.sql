-- Schema and seed rows for the basic example. Any table or view works as long
-- as it has the mapped columns; only those columns are selected.
CREATE DATABASE IF NOT EXISTS saas CHARACTER SET utf8mb4;
USE saas;
CREATE TABLE IF NOT EXISTS customers (
  customer_id VARCHAR(63)  NOT NULL PRIMARY KEY,
  domain      VARCHAR(255) NULL,
  is_active   TINYINT(1)   NOT NULL DEFAULT 0,
  plan        VARCHAR(32)  NULL,
  replicas    INT          NOT NULL DEFAULT 1
);
INSERT INTO customers (customer_id, domain, is_active, plan, replicas) VALUES
  ('acme',    'https://shop.acme.example',  1, 'pro',   2),
  ('globex',  'https://app.globex.example', 1, 'basic', 1),
  ('initech', 'https://initech.example',    0, 'basic', 1)
ON DUPLICATE KEY UPDATE domain = VALUES(domain), is_active = VALUES(is_active),
  plan = VALUES(plan), replicas = VALUES(replicas);
-- A read-only user for the registry (matches registry.yaml):
-- CREATE USER 'tenant_reader'@'%' IDENTIFIED BY 'change-me';
-- GRANT SELECT ON saas.customers TO 'tenant_reader'@'%';
