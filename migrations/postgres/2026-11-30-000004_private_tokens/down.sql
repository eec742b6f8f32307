DROP TABLE private_tokens;
