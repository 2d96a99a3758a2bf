internal import Glibc
internal import HTTPServer
internal import IECCrypto
internal import IECJSON
internal import JOSE
internal import Store

/// The Edge Identity Manager: the admin web UI at `/identitymanager`.
///
/// - `GET /identitymanager/{file}` serves the UI's static files (HTML, CSS,
///   JavaScript) from `ui.directory`, and only files inside it: no `..`, no
///   dotfiles, no symlink that leads out. HTML comes with a strict
///   Content-Security-Policy (no inline script or style anywhere).
/// - `/identitymanager/api/session`: the UI's own admin sign-in. It checks an
///   administrator exactly as `POST /json/realms/root/authenticate` does (same
///   failed-login limits), sets the session cookie (HttpOnly, SameSite=Strict,
///   Secure under HTTPS) and returns a CSRF token, kept in the session's
///   attributes. The UI then calls the admin REST API with the cookie, and sends
///   the token as `X-CSRF-Token` on every request that changes something
///   (`requireAdmin` compares it in constant time).
extension AMServer {
    static let uiPrefix = "/identitymanager"
    static let csrfHeader = "x-csrf-token"
    /// Largest UI file served; they are small hand-written files.
    static let maxUIFileBytes = 4 << 20

    func addIdentityManagerRoutes(to router: inout Router) {
        router.add("GET", Self.uiPrefix) { _ in
            var response = HTTPServerResponse.redirect(to: Self.uiPrefix + "/", status: 301)
            response.headers.append((name: "Cache-Control", value: "no-cache"))
            return response
        }
        router.add("GET", Self.uiPrefix + "/{rest...}") { [self] request in try uiFile(request) }
        router.add("POST", Self.uiPrefix + "/api/session") { [self] request in try uiSignIn(request) }
        router.add("GET", Self.uiPrefix + "/api/session") { [self] request in try uiSession(request) }
        router.add("DELETE", Self.uiPrefix + "/api/session") { [self] request in try uiSignOut(request) }
        router.add("GET", Self.uiPrefix + "/api/realms") { [self] request in try uiRealms(request) }
    }

    // MARK: Session

    /// `POST /identitymanager/api/session` `{"username", "password", "realm"?}`.
    func uiSignIn(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let body = try request.jsonBody()
        guard case .object(let fields) = body else { throw HTTPError(status: 400, message: "the body must be a JSON object") }
        if let unknown = fields.keys.sorted().first(where: { !["username", "password", "realm"].contains($0) }) {
            throw HTTPError(status: 400, message: "unknown field \"\(unknown.prefix(64))\"")
        }
        guard let username = body["username"]?.stringValue, let password = body["password"]?.stringValue,
            !username.isEmpty, username.utf8.count <= 256
        else { throw HTTPError(status: 401, message: "Authentication Failed") }
        let wantedRealm = body["realm"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        try checkLoginLimits(realm: "root", username: username, address: request.remoteAddress)
        guard let user = try store.user(realm: "root", username: username), !user.disabled, user.roles.contains("admin"),
            PasswordHash.verify(password, against: user.passwordHash)
        else {
            try recordLoginFailure(realm: "root", username: username, address: request.remoteAddress)
            audit(realm: "root", actor: username, action: "admin.sign_in", target: username, outcome: "failure", details: ["via": "identitymanager"])
            throw HTTPError(status: 401, message: "Authentication Failed")
        }
        // The realm is checked only once the administrator is known: no realm names to anyone else.
        let realms = try managedRealms()
        if let wantedRealm, !realms.contains(wantedRealm) {
            throw HTTPError(status: 400, message: "there is no realm \"\(wantedRealm.prefix(64))\"")
        }
        let csrf = Base64.urlEncode(random.bytes(32))
        let token = try sessions.create(
            realm: "root", subject: username, kind: "admin", idleTimeout: configuration.adminSessionIdleTimeout,
            maxLifetime: configuration.adminSessionMaxLifetime, attributes: ["csrf": .string(csrf), "client": "identitymanager"])
        audit(realm: "root", actor: username, action: "admin.sign_in", target: username, outcome: "success", details: ["via": "identitymanager"])
        return .json(
            sessionAnswer(username: username, csrf: csrf, realm: wantedRealm ?? realms.first),
            headers: [sessionCookie(token, maxAge: Int(configuration.adminSessionMaxLifetime), secure: request.isSecure)])
    }

    /// `GET /identitymanager/api/session`: whether the cookie holds a live UI
    /// session; if so its CSRF token again (for a page reload).
    func uiSession(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        guard let token = request.cookies[configuration.cookieName], let session = try sessions.validate(token), session.kind == "admin",
            let csrf = session.attributes["csrf"]?.stringValue
        else { return .json(["valid": false]) }
        return .json(sessionAnswer(username: session.subject, csrf: csrf, realm: try managedRealms().first))
    }

    /// `DELETE /identitymanager/api/session`: signs out (a change: CSRF token required).
    func uiSignOut(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let session = try requireAdmin(request)
        let token = request.header(configuration.cookieName.lowercased()) ?? request.cookies[configuration.cookieName] ?? ""
        try sessions.end(token)
        audit(realm: "root", actor: session.subject, action: "admin.sign_out", target: session.subject, outcome: "success", details: ["via": "identitymanager"])
        return .json(["valid": false], headers: [sessionCookie("", maxAge: 0, secure: request.isSecure)])
    }

    /// `GET /identitymanager/api/realms`: the realms an administrator can manage.
    func uiRealms(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        return .json(["result": .array(try managedRealms().map { ["name": .string($0)] })])
    }

    private func managedRealms() throws -> [String] {
        try store.listRealms().map(\.name).filter { $0 != "root" }
    }

    private func sessionAnswer(username: String, csrf: String, realm: String?) -> JSONValue {
        [
            "valid": true, "username": .string(username), "csrfToken": .string(csrf),
            "expiresIn": .int(Int64(configuration.adminSessionIdleTimeout)),
            "maxLifetime": .int(Int64(configuration.adminSessionMaxLifetime)),
            "realm": realm.map(JSONValue.string) ?? .null,
        ]
    }

    // MARK: Static files

    /// The folder the UI's files are served from (its real path, symlinks resolved), or nil if missing.
    var uiRoot: String? {
        realPath(configuration.uiDirectory ?? AMConfiguration.defaultUIDirectory)
    }

    func uiFile(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let rest = request.pathParameters["rest"] ?? ""
        let relative = rest.isEmpty ? "index.html" : rest
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard relative.utf8.count <= 512,
            segments.allSatisfy({ segment in
                !segment.isEmpty && segment.first != "." && !segment.contains("\\")
                    && !segment.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            })
        else { throw HTTPError(status: 404, message: "no such file") }
        guard let root = uiRoot else {
            logger.warning("the identity manager's folder is missing", [("ui.directory", configuration.uiDirectory ?? AMConfiguration.defaultUIDirectory)])
            throw HTTPError(status: 404, message: "the identity manager is not installed (ui.directory)")
        }
        // A symlink may point anywhere: what counts is where the path really leads.
        guard let real = realPath(root + "/" + relative), real.hasPrefix(root + "/"),
            !real.dropFirst(root.count + 1).split(separator: "/").contains(where: { $0.first == "." })
        else { throw HTTPError(status: 404, message: "no such file") }
        guard let bytes = readRegularFile(real) else { throw HTTPError(status: 404, message: "no such file") }
        let type = Self.contentType(of: real)
        var headers: [(name: String, value: String)] = [
            (name: "Content-Type", value: type), (name: "Cache-Control", value: "no-cache"),
            (name: "X-Content-Type-Options", value: "nosniff"), (name: "Referrer-Policy", value: "no-referrer"),
            (name: "Cross-Origin-Resource-Policy", value: "same-origin"),
        ]
        if type.hasPrefix("text/html") {
            headers += [
                (name: "Content-Security-Policy", value: Self.uiContentSecurityPolicy), (name: "X-Frame-Options", value: "DENY"),
            ]
        }
        return HTTPServerResponse(status: 200, headers: headers, body: bytes)
    }

    static let uiContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func contentType(of path: String) -> String {
        let name = path[(path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex)...]
        let ext = name.lastIndex(of: ".").map { String(name[name.index(after: $0)...]).lowercased() } ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json", "map": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "txt": return "text/plain; charset=utf-8"
        case "woff2": return "font/woff2"
        default: return "application/octet-stream"
        }
    }

    private func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The bytes of a regular file (not a folder, device or FIFO), or nil.
    private func readRegularFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) <= Self.maxUIFileBytes else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(Int(info.st_size))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return output }
            output.append(contentsOf: buffer[..<count])
            if output.count > Self.maxUIFileBytes { return nil }
        }
    }
}

extension AMConfiguration {
    /// Where the UI's files are when `ui.directory` is not set: `../share/iec-am/identitymanager`
    /// beside the executable's folder (an installed iec-am), else `web/identitymanager`
    /// under the current directory (a source checkout).
    public static let defaultUIDirectory: String = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 {
            let executable = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = executable.lastIndex(of: "/") {
                let installed = String(executable[..<slash]) + "/../share/iec-am/identitymanager"
                var info = stat()
                if stat(installed, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return installed }
            }
        }
        var cwd = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let folder = getcwd(&cwd, cwd.count) != nil
            ? String(decoding: cwd.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "."
        return folder + "/web/identitymanager"
    }()
}
