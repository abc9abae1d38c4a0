"""Serverless gamification engine: rules, ledgers, limits and awards on DynamoDB."""
