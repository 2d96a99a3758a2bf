public import HTTPServer
public import IECJSON
public import OAuth2

/// `GET|PUT /json/realms/root/realms/{realm}/oauth2/settings`: the realm's OAuth2
/// provider settings (token lifetimes, the device flow), for administrators.
extension AMServer {
    func addOAuth2SettingsRoutes(to router: inout Router) {
        let path = "/json/realms/root/realms/{realm}/oauth2/settings"
        router.add("GET", path) { [self] request in
            _ = try requireAdmin(request)
            let realm = try requireRealm(request)
            return .json(OAuth2Settings(json: try store.realm(named: realm)?.settings["oauth2"]).json)
        }
        router.add("PUT", path) { [self] request in try putOAuth2Settings(request) }
    }

    /// Changes some settings; members not given keep their values. Each is checked
    /// against a sane range so that a typo cannot make tokens live for a year.
    func putOAuth2Settings(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        guard case .object(let changes) = try request.jsonBody() else { throw HTTPError(status: 400, message: "the body must be a JSON object") }
        let ranges: [String: ClosedRange<Double>] = [
            "access_token_lifetime": 60...86_400, "refresh_token_lifetime": 300...31_536_000, "id_token_lifetime": 60...86_400,
            "device_code_lifetime": 5...3600, "device_code_interval": 1...60, "max_assertion_lifetime": 30...86_400,
        ]
        for (key, value) in changes {
            if let range = ranges[key] {
                guard let number = value.doubleValue, range.contains(number) else {
                    throw HTTPError(status: 400, message: "\(key) must be a number from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
                }
            } else if key == "verification_url" {
                guard let url = value.stringValue, url.isEmpty || url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw HTTPError(status: 400, message: "verification_url must be an http(s) URL, or empty for this server's page")
                }
            } else if key == "dynamic_profile_creation" {
                guard value.boolValue != nil else { throw HTTPError(status: 400, message: "dynamic_profile_creation must be true or false") }
            } else if key == "default_scopes" {
                guard let scopes = value.arrayValue, scopes.allSatisfy({ $0.stringValue != nil }) else {
                    throw HTTPError(status: 400, message: "default_scopes must be an array of strings")
                }
            } else {
                throw HTTPError(status: 400, message: "unknown setting \"\(key.prefix(64))\"")
            }
        }
        guard var record = try store.realm(named: realm), case .object(var settings) = record.settings else {
            throw HTTPError(status: 404, message: "no such realm")
        }
        var current = settings["oauth2"]?.objectValue ?? OAuth2Settings().json.objectValue!
        for (key, value) in changes { current[key] = value }
        let parsed = OAuth2Settings(json: .object(current))
        settings["oauth2"] = parsed.json
        record.settings = .object(settings)
        record.updatedAt = clock.now
        try store.putRealm(record)
        provider.invalidateRealm(realm)
        audit(realm: realm, actor: admin.subject, action: "settings.update", target: "oauth2", outcome: "success",
              details: ["changed": .array(changes.keys.sorted().map(JSONValue.string))])
        return .json(parsed.json)
    }
}
