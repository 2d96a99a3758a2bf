public import HTTPServer
public import IECJSON
public import OAuth2

extension AMServer {
    func addOAuth2Routes(to router: inout Router) {
        let base = "/oauth2/realms/root/realms/{realm}"
        router.add("GET", base + "/.well-known/openid-configuration") { [self] request in
            try oauth2 { .json(try provider.discovery(realm: realm(request))) }
        }
        // RFC 8414 §3: the well-known segment goes between host and path.
        router.add("GET", "/.well-known/oauth-authorization-server/oauth2/realms/root/realms/{realm}") { [self] request in
            try oauth2 { .json(try provider.discovery(realm: realm(request))) }
        }
        router.add("GET", base + "/.well-known/oauth-authorization-server") { [self] request in
            try oauth2 { .json(try provider.discovery(realm: realm(request))) }
        }
        router.add("GET", base + "/connect/jwk_uri") { [self] request in
            try oauth2 { .json(try provider.jwks(realm: realm(request)), headers: [("Cache-Control", "public, max-age=60")]) }
        }
        router.add("POST", base + "/access_token") { [self] request in
            try oauth2 { .json(try provider.token(realm: realm(request), request: oauth2Request(request, endpoint: "/access_token")), headers: noStore) }
        }
        router.add("POST", base + "/device/code") { [self] request in
            try oauth2 { .json(try provider.deviceAuthorization(realm: realm(request), request: oauth2Request(request, endpoint: "/device/code")), headers: noStore) }
        }
        router.add("POST", base + "/introspect") { [self] request in
            try oauth2 { .json(try provider.introspect(realm: realm(request), request: oauth2Request(request, endpoint: "/introspect")), headers: noStore) }
        }
        router.add("POST", base + "/token/revoke") { [self] request in
            try oauth2 {
                try provider.revoke(realm: realm(request), request: oauth2Request(request, endpoint: "/token/revoke"))
                return .json(.object([:]), headers: noStore)
            }
        }
        for method in ["GET", "POST"] {
            router.add(method, base + "/userinfo") { [self] request in
                try oauth2 { .json(try provider.userinfo(realm: realm(request), authorization: request.header("authorization")), headers: noStore) }
            }
        }
    }

    var noStore: [(String, String)] { [("Cache-Control", "no-store"), ("Pragma", "no-cache")] }

    func realm(_ request: HTTPServerRequest) -> String { request.pathParameters["realm"] ?? "" }

    /// The form body of an OAuth2 request (RFC 6749 requires form encoding).
    func oauth2Request(_ request: HTTPServerRequest, endpoint: String) throws -> OAuth2Request {
        // An empty body is an empty form, whatever its (missing) content type.
        guard let form = request.formParameterValues() ?? (request.body.isEmpty ? [:] : nil) else {
            throw OAuth2Error.invalidRequest("the body must be application/x-www-form-urlencoded")
        }
        return OAuth2Request(
            form: form, authorization: request.header("authorization"),
            endpointURL: provider.issuer(realm: realm(request)) + endpoint)
    }

    /// Runs an OAuth2 endpoint, answering its errors in RFC 6749 §5.2 form.
    func oauth2(_ body: () throws -> HTTPServerResponse) throws -> HTTPServerResponse {
        do {
            return try body()
        } catch let error as OAuth2Error {
            if let hint = error.hint { logger.info("oauth2 request refused", [("error", error.code), ("hint", hint)]) }
            let headers = error.headers(realm: "OpenIEC") + noStore
            return .json(error.body, status: error.status, headers: headers)
        } catch let error as HTTPError {
            throw error
        } catch {
            logger.error("oauth2 endpoint failed", [("error", "\(error)")])
            return .json(OAuth2Error.serverError(hint: "").body, status: 500, headers: noStore)
        }
    }
}
