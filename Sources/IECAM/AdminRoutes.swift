public import HTTPServer
public import IECCrypto
public import IECJSON
public import JOSE
public import OAuth2
public import IECRealm
public import Store

extension AMServer {
    func addAdminRoutes(to router: inout Router) {
        router.add("POST", "/json/realms/root/authenticate") { [self] request in try adminAuthenticate(request) }
        router.add("POST", "/json/realms/root/sessions") { [self] request in try sessionAction(request) }
        let realmBase = "/json/realms/root/realms/{realm}"
        router.add("GET", realmBase + "/realm-config/agents/OAuth2Client") { [self] request in try listClients(request) }
        router.add("POST", realmBase + "/realm-config/agents/OAuth2Client") { [self] request in try createClient(request) }
        router.add("GET", realmBase + "/realm-config/agents/OAuth2Client/{id}") { [self] request in try readClient(request) }
        router.add("DELETE", realmBase + "/realm-config/agents/OAuth2Client/{id}") { [self] request in try deleteClient(request) }
        router.add("GET", realmBase + "/users") { [self] request in try listUsers(request) }
        router.add("POST", realmBase + "/users") { [self] request in try createUser(request) }
        router.add("GET", realmBase + "/users/{id}") { [self] request in try readUser(request) }
        router.add("DELETE", realmBase + "/users/{id}") { [self] request in try deleteUser(request) }
    }

    // MARK: Sign-in

    /// AM's admin sign-in: `X-OpenAM-Username` / `X-OpenAM-Password` headers → `tokenId` and the session cookie.
    func adminAuthenticate(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        guard let username = request.header("x-openam-username"), let password = request.header("x-openam-password"),
            !username.isEmpty, username.utf8.count <= 256
        else { throw HTTPError(status: 401, message: "Authentication Failed") }
        try checkLoginLimits(realm: "root", username: username, address: request.remoteAddress)
        guard let user = try store.user(realm: "root", username: username), !user.disabled, user.roles.contains("admin"),
            PasswordHash.verify(password, against: user.passwordHash)
        else {
            // Verify against a dummy hash for unknown users too would equalise timing; Argon2 dominates either way.
            try recordLoginFailure(realm: "root", username: username, address: request.remoteAddress)
            audit(realm: "root", actor: username, action: "admin.sign_in", target: username, outcome: "failure")
            throw HTTPError(status: 401, message: "Authentication Failed")
        }
        let token = try sessions.create(
            realm: "root", subject: username, kind: "admin", idleTimeout: configuration.adminSessionIdleTimeout,
            maxLifetime: configuration.adminSessionMaxLifetime)
        audit(realm: "root", actor: username, action: "admin.sign_in", target: username, outcome: "success")
        return .json(
            ["tokenId": .string(token), "successUrl": "/identitymanager", "realm": "/"],
            headers: [sessionCookie(token, maxAge: Int(configuration.adminSessionMaxLifetime), secure: request.isSecure)])
    }

    func checkLoginLimits(realm: String, username: String, address: String) throws {
        let window = configuration.failedLoginWindow
        if try limiter.isLimited("login:\(realm)/\(username)", limit: configuration.failedLoginLimit, window: window)
            || limiter.isLimited("login-address:\(address)", limit: configuration.failedLoginLimit * 4, window: window)
        {
            throw HTTPError(status: 429, message: "too many failed sign-ins; try again in \(limiter.retryAfter(window: window)) seconds")
        }
    }

    func recordLoginFailure(realm: String, username: String, address: String) throws {
        try limiter.recordFailure("login:\(realm)/\(username)", window: configuration.failedLoginWindow)
        try limiter.recordFailure("login-address:\(address)", window: configuration.failedLoginWindow)
    }

    /// `POST /json/realms/root/sessions?_action=validate|logout`, session in the `iPlanetDirectoryPro` header.
    func sessionAction(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let token = request.header(configuration.cookieName.lowercased()) ?? request.cookies[configuration.cookieName] ?? ""
        switch request.query["_action"] {
        case "validate":
            guard let session = try sessions.validate(token) else { return .json(["valid": false]) }
            return .json(["valid": true, "uid": .string(session.subject), "realm": .string("/" + (session.realm == "root" ? "" : session.realm))])
        case "logout":
            guard request.header(configuration.cookieName.lowercased()) != nil else {
                throw HTTPError(status: 400, message: "send the session token in the \(configuration.cookieName) header")
            }
            guard try sessions.end(token) else { throw HTTPError(status: 401, message: "no such session") }
            return .json(["result": "Successfully logged out"], headers: [sessionCookie("", maxAge: 0, secure: request.isSecure)])
        default:
            throw HTTPError(status: 400, message: "_action must be validate or logout")
        }
    }

    /// The administrator of a request. Reads may carry the session as a cookie;
    /// changes must send it in the `iPlanetDirectoryPro` header, which a
    /// cross-site form cannot set (CSRF), or send the cookie together with the
    /// session's CSRF token (made at the Identity Manager's sign-in) in `X-CSRF-Token`.
    func requireAdmin(_ request: HTTPServerRequest) throws -> SessionRecord {
        let headerToken = request.header(configuration.cookieName.lowercased())
        let safeMethod = request.method == "GET" || request.method == "HEAD"
        let csrfToken = headerToken == nil && !safeMethod ? request.header("x-csrf-token") : nil
        guard let token = headerToken ?? (safeMethod || csrfToken != nil ? request.cookies[configuration.cookieName] : nil) else {
            throw HTTPError(status: 401, message: "an administrator session is required (the \(configuration.cookieName) header)")
        }
        guard let session = try sessions.validate(token), session.kind == "admin" else {
            throw HTTPError(status: 401, message: "the session is not valid (expired or signed out)")
        }
        if let csrfToken {
            guard let expected = session.attributes["csrf"]?.stringValue, ConstantTime.equals(expected, csrfToken) else {
                throw HTTPError(status: 403, message: "the X-CSRF-Token header does not match the session")
            }
        }
        return session
    }

    func requireRealm(_ request: HTTPServerRequest) throws -> String {
        let realm = request.pathParameters["realm"] ?? ""
        guard try store.realm(named: realm) != nil else { throw HTTPError(status: 404, message: "realm \"\(realm.prefix(64))\" not found") }
        return realm
    }

    func page(_ request: HTTPServerRequest) -> PageRequest {
        let size = request.query["_pageSize"].flatMap(Int.init) ?? 50
        return PageRequest(limit: max(1, min(size, 1000)), cursor: request.query["_pagedResultsCookie"].flatMap { $0.isEmpty ? nil : $0 })
    }

    func listing(_ items: [JSONValue], next: String?) -> HTTPServerResponse {
        .json([
            "result": .array(items), "resultCount": .int(Int64(items.count)),
            "pagedResultsCookie": next.map(JSONValue.string) ?? .null, "remainingPagedResults": -1,
        ])
    }

    // MARK: OAuth2 clients

    func clientJSON(_ client: OAuth2ClientRecord) -> JSONValue {
        [
            "_id": .string(client.clientID), "client_id": .string(client.clientID), "client_name": .string(client.name),
            "token_endpoint_auth_method": .string(client.tokenEndpointAuthMethod),
            "grant_types": .array(client.grantTypes.map(JSONValue.string)), "scopes": .array(client.scopes.map(JSONValue.string)),
            "jwks": client.jwks ?? .null, "disabled": .bool(client.disabled), "created": .double(client.createdAt),
        ]
    }

    func listClients(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        let page = try store.listClients(realm: realm, page: page(request))
        return listing(page.items.map(clientJSON), next: page.nextCursor)
    }

    func readClient(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        guard let client = try store.client(realm: realm, clientID: request.pathParameters["id"] ?? "") else {
            throw HTTPError(status: 404, message: "no such OAuth2 client")
        }
        return .json(clientJSON(client))
    }

    /// Creates a client; a secret, when the method needs one, is generated and shown this once.
    func createClient(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        guard request.query["_action"] == "create" else { throw HTTPError(status: 400, message: "use ?_action=create") }
        let body = try request.jsonBody()
        guard case .object(let fields) = body else { throw HTTPError(status: 400, message: "the body must be a JSON object") }
        let allowed: Set<String> = ["client_id", "client_name", "token_endpoint_auth_method", "grant_types", "scopes", "jwks"]
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw HTTPError(status: 400, message: "unknown field \"\(unknown.prefix(64))\"")
        }
        let clientID = body["client_id"]?.stringValue ?? Base64.urlEncode(random.bytes(12))
        guard RealmSetup.isValidRealmName(clientID) || clientID.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" }),
            !clientID.isEmpty, clientID.utf8.count <= 128
        else { throw HTTPError(status: 400, message: "client_id must be 1 to 128 printable ASCII characters without '/'") }
        let method = body["token_endpoint_auth_method"]?.stringValue ?? ClientAuthMethod.secretBasic
        guard ClientAuthMethod.all.contains(method) else {
            throw HTTPError(status: 400, message: "token_endpoint_auth_method must be one of \(ClientAuthMethod.all.joined(separator: ", "))")
        }
        let grants = try stringList(body["grant_types"], field: "grant_types") ?? [GrantType.clientCredentials]
        if let bad = grants.first(where: { !GrantType.all.contains($0) }) {
            throw HTTPError(status: 400, message: "unsupported grant type \"\(bad.prefix(80))\"")
        }
        let scopes = try stringList(body["scopes"], field: "scopes") ?? ["openid"]
        var jwks: JSONValue?
        if let keys = body["jwks"], keys != .null {
            let set: JWKS
            do {
                set = try JWKS(json: keys)
            } catch {
                throw HTTPError(status: 400, message: "jwks: \(error)")
            }
            guard set.keys.contains(where: { $0.keyType == .ec && !$0.isPrivate }) else {
                throw HTTPError(status: 400, message: "jwks must hold at least one public EC P-256 key (and no private key)")
            }
            guard !set.keys.contains(where: \.isPrivate) else { throw HTTPError(status: 400, message: "jwks must not hold private keys") }
            jwks = keys
        }
        if method == ClientAuthMethod.privateKeyJWT || grants.contains(GrantType.jwtBearer), jwks == nil {
            throw HTTPError(status: 400, message: "private_key_jwt and the JWT-bearer grant need the client's jwks")
        }
        var secret: String?
        if method == ClientAuthMethod.secretBasic || method == ClientAuthMethod.secretPost { secret = provider.makeClientSecret() }
        let now = clock.now
        let record = OAuth2ClientRecord(
            realm: realm, clientID: clientID, tokenEndpointAuthMethod: method, secretHash: secret.map(OAuth2Provider.hashSecret), jwks: jwks,
            grantTypes: grants, scopes: scopes, name: body["client_name"]?.stringValue ?? clientID, createdAt: now, updatedAt: now)
        do {
            try store.createClient(record)
        } catch let error as StoreError where error.kind == .conflict {
            throw HTTPError(status: 409, message: "an OAuth2 client \"\(clientID.prefix(64))\" exists")
        }
        audit(realm: realm, actor: admin.subject, action: "client.create", target: clientID, outcome: "success")
        var json = clientJSON(record).objectValue!
        if let secret { json["client_secret"] = .string(secret) }
        return .json(.object(json), status: 201)
    }

    func deleteClient(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        let id = request.pathParameters["id"] ?? ""
        guard try store.deleteClient(realm: realm, clientID: id) else { throw HTTPError(status: 404, message: "no such OAuth2 client") }
        audit(realm: realm, actor: admin.subject, action: "client.delete", target: id, outcome: "success")
        return .json(["_id": .string(id)])
    }

    // MARK: Users

    func userJSON(_ user: UserRecord) -> JSONValue {
        [
            "_id": .string(user.username), "username": .string(user.username), "roles": .array(user.roles.map(JSONValue.string)),
            "disabled": .bool(user.disabled), "attributes": user.attributes, "created": .double(user.createdAt),
        ]
    }

    func listUsers(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        let page = try store.listUsers(realm: realm, page: page(request))
        return listing(page.items.map(userJSON), next: page.nextCursor)
    }

    func readUser(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        guard let user = try store.user(realm: realm, username: request.pathParameters["id"] ?? "") else {
            throw HTTPError(status: 404, message: "no such user")
        }
        return .json(userJSON(user))
    }

    func createUser(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        guard request.query["_action"] == "create" else { throw HTTPError(status: 400, message: "use ?_action=create") }
        let body = try request.jsonBody()
        guard case .object(let fields) = body else { throw HTTPError(status: 400, message: "the body must be a JSON object") }
        if let unknown = fields.keys.sorted().first(where: { !["username", "password", "attributes"].contains($0) }) {
            throw HTTPError(status: 400, message: "unknown field \"\(unknown.prefix(64))\"")
        }
        guard let username = body["username"]?.stringValue, !username.isEmpty, username.utf8.count <= 128,
            username.allSatisfy({ !$0.isWhitespace && $0 != "/" })
        else { throw HTTPError(status: 400, message: "username must be 1 to 128 characters, no spaces or '/'") }
        guard let password = body["password"]?.stringValue, password.count >= 8, password.utf8.count <= PasswordHash.maxPasswordBytes else {
            throw HTTPError(status: 400, message: "password must have 8 or more characters")
        }
        let attributes = body["attributes"] ?? .object([:])
        guard attributes.objectValue != nil else { throw HTTPError(status: 400, message: "attributes must be an object") }
        let now = clock.now
        let user = UserRecord(
            realm: realm, username: username, passwordHash: try PasswordHash.hash(password), roles: realm == "root" ? ["admin"] : [],
            attributes: attributes, createdAt: now, updatedAt: now)
        do {
            try store.createUser(user)
        } catch let error as StoreError where error.kind == .conflict {
            throw HTTPError(status: 409, message: "a user \"\(username.prefix(64))\" exists")
        }
        audit(realm: realm, actor: admin.subject, action: "user.create", target: username, outcome: "success")
        return .json(userJSON(user), status: 201)
    }

    func deleteUser(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        let id = request.pathParameters["id"] ?? ""
        guard !(realm == "root" && id == admin.subject) else { throw HTTPError(status: 400, message: "an administrator cannot delete themself") }
        guard try store.deleteUser(realm: realm, username: id) else { throw HTTPError(status: 404, message: "no such user") }
        try store.deleteSessions(realm: realm, subject: id)
        audit(realm: realm, actor: admin.subject, action: "user.delete", target: id, outcome: "success")
        return .json(["_id": .string(id)])
    }

    private func stringList(_ value: JSONValue?, field: String) throws -> [String]? {
        guard let value, value != .null else { return nil }
        guard let array = value.arrayValue, let strings = Optional(array.compactMap(\.stringValue)), strings.count == array.count else {
            throw HTTPError(status: 400, message: "\(field) must be an array of strings")
        }
        return strings
    }
}
