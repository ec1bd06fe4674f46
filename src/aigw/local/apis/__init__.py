"""API Gateway, emulated from the template: REST APIs (`rest_api`, `api_definition`,
`gateway_responses`) served over HTTP (`http_server`), WebSocket APIs (`websocket_server`)."""
