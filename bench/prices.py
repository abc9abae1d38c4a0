"""Public on-demand prices the benchmark turns capacity and time into (one region, one date).

Sources (AWS pricing pages): https://aws.amazon.com/dynamodb/pricing/on-demand/ ,
https://aws.amazon.com/api-gateway/pricing/ , https://aws.amazon.com/lambda/pricing/ .
DynamoDB on-demand prices are those in effect since the 50 % cut of 2024-11-01.
"""

PRICES = {
    "region": "us-east-1",
    "as_of": "2024-11-01 (DynamoDB on-demand price cut); unchanged on the pricing pages through 2025",
    "currency": "USD",
    "dynamodb_on_demand": {
        "table_class": "Standard",
        "usd_per_million_write_request_units": 0.625,
        "usd_per_million_read_request_units": 0.125,
        "note": "1 WRU = one write of up to 1 KB (2 in a transaction); 1 RRU = one strongly consistent "
        "read of up to 4 KB (eventually consistent: half; transactional: 2)",
    },
    "api_gateway_http_api": {
        "usd_per_million_requests": 1.00,
        "note": "first 300 million requests a month; each request metered in 512 KB increments",
    },
    "lambda_arm64": {
        "usd_per_gb_second": 0.0000133334,
        "usd_per_million_requests": 0.20,
        "note": "first 7.5 billion GB-s a month; billed duration rounded up to 1 ms; free tier ignored",
    },
}
