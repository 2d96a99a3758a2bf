internal import IECCLI
internal import HTTPClient
internal import IECCrypto
internal import IECJSON
internal import JOSE

enum TokenCommand {
    static let usage = """
        Usage:
          iecutil token decode [TOKEN]
              Prints {"header": ..., "claims": ...} of a compact JWT (TOKEN, or read
              from standard input). The signature is NOT verified.

          iecutil token verify [TOKEN] (--jwks FILE|URL | --hmac-secret-file FILE)
                               [--issuer ISS] [--audience AUD] [--leeway SECONDS]
              Verifies the signature (ES256 against the JWK Set, or HS256 with the
              secret) and the claims (exp, nbf, iat with leeway, default 60 s; iss and
              aud when given). Prints the claims and exits 0, or prints
              "token rejected: <reason>" and exits 1.
              --jwks URL fetches the set over http(s), trusting the system's CAs.
              --ca-file FILE   also trust the CA certificates in FILE (with a URL)

          iecutil token sign --key PEMFILE --claims JSON|@FILE
          iecutil token sign --alg HS256 --hmac-secret-file FILE --claims JSON|@FILE
              Prints a compact JWS of the claims, ES256 with the P-256 private key
              (header kid = the key's RFC 7638 thumbprint) or HS256 with the secret.

        """

    static func run(_ arguments: [String], console: any Console) throws {
        guard let action = arguments.first, !action.hasPrefix("-") else {
            if arguments.contains(where: { $0 == "--help" || $0 == "-h" }) { return console.write(usage) }
            throw UsageError("token needs an action: decode, verify or sign")
        }
        let rest = arguments.dropFirst()
        switch action {
        case "decode": try decode(rest, console: console)
        case "verify": try verify(rest, console: console)
        case "sign": try sign(rest, console: console)
        default: throw UsageError("unknown token action \"\(action)\" (decode, verify or sign)")
        }
    }

    private static func token(from options: ParsedArguments, console: any Console) throws -> String {
        switch options.positionals.count {
        case 0 where true, 1 where options.positionals[0] == "-":
            guard let bytes = console.readInput(limit: JWS.defaultMaxBytes) else {
                throw CommandFailure("the token on standard input is longer than \(JWS.defaultMaxBytes) bytes")
            }
            return String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        case 1:
            return options.positionals[0].trimmingWhitespace()
        default:
            throw UsageError("give one token")
        }
    }

    private static func decode(_ arguments: ArraySlice<String>, console: any Console) throws {
        let options = try ParsedArguments(arguments, valued: [])
        if options.wantsHelp { return console.write(usage) }
        let jws: UnverifiedJWS
        let claims: JWTClaims
        do {
            jws = try JWS.decode(try token(from: options, console: console))
            claims = try JWTClaims(payload: jws.payload)
        } catch let error as JOSEError {
            throw CommandFailure("not a JWT: \(error.reason)")
        }
        console.write(JSONValue.object(["header": .object(jws.header), "claims": claims.json]).serialized(pretty: true) + "\n")
        console.writeError("iecutil: note: the signature was NOT verified (use `iecutil token verify`)\n")
    }

    private static func verify(_ arguments: ArraySlice<String>, console: any Console) throws {
        let options = try ParsedArguments(
            arguments, valued: ["jwks", "hmac-secret-file", "issuer", "audience", "leeway", "ca-file"])
        if options.wantsHelp { return console.write(usage) }
        let keys: JWSVerificationKeys
        switch (try options.value("jwks"), try options.value("hmac-secret-file")) {
        case (let source?, nil): keys = .set(try loadJWKS(source, caFile: try options.value("ca-file")))
        case (nil, let path?): keys = .hs256(try KeyFiles.secret(fromFile: path))
        case (nil, nil): throw UsageError("token verify needs --jwks or --hmac-secret-file")
        case (_?, _?): throw UsageError("give either --jwks or --hmac-secret-file, not both")
        }
        var policy = JWTValidationPolicy(issuer: try options.value("issuer"), audience: try options.value("audience"))
        if let leeway = try options.value("leeway") {
            guard let seconds = Double(leeway), seconds >= 0, seconds <= 86_400 else {
                throw UsageError("--leeway is a number of seconds from 0 to 86400")
            }
            policy.leeway = seconds
        }
        let token = try token(from: options, console: console)
        do {
            let (_, claims) = try verifyJWT(token, keys: keys, policy: policy, clock: SystemClock())
            console.write(claims.json.serialized(pretty: true) + "\n")
        } catch let error as JOSEError {
            throw CommandFailure("token rejected: \(error.reason)")
        }
    }

    private static func loadJWKS(_ source: String, caFile: String?) throws -> JWKS {
        let text: String
        if source.hasPrefix("http://") || source.hasPrefix("https://") {
            let client = HTTPClient(configuration: HTTPClientConfiguration(caFile: caFile))
            let response: HTTPResponse
            do {
                response = try client.send(HTTPRequest(method: "GET", url: source, headers: [], body: []))
            } catch {
                throw CommandFailure("cannot fetch the JWK Set: \(error)")
            }
            guard response.status == 200 else { throw CommandFailure("fetching \(source) answered HTTP \(response.status)") }
            text = String(decoding: response.body, as: UTF8.self)
        } else {
            if caFile != nil { throw UsageError("--ca-file is for a --jwks URL") }
            text = try Files.readText(source)
        }
        do {
            return try JWKS(jsonText: text)
        } catch let error as JOSEError {
            throw CommandFailure("\(source): \(error.reason)")
        }
    }

    private static func sign(_ arguments: ArraySlice<String>, console: any Console) throws {
        let options = try ParsedArguments(arguments, valued: ["key", "alg", "hmac-secret-file", "claims", "kid"])
        if options.wantsHelp { return console.write(usage) }
        guard options.positionals.isEmpty else { throw UsageError("token sign takes no positional arguments") }
        let algorithm: JWSAlgorithm
        do {
            algorithm = try JWSAlgorithm.named(try options.value("alg") ?? "ES256")
        } catch let error as JOSEError {
            throw UsageError(error.reason)
        }
        let key: JWSSigningKey
        switch algorithm {
        case .es256:
            guard try options.value("hmac-secret-file") == nil else { throw UsageError("--hmac-secret-file is for --alg HS256") }
            let privateKey = try KeyFiles.privateKey(fromPEMFile: try options.required("key"))
            key = .es256(privateKey, keyID: try options.value("kid") ?? JWK(publicKey: privateKey.publicKey).thumbprint())
        case .hs256:
            guard try options.value("key") == nil else { throw UsageError("--key is for ES256; HS256 takes --hmac-secret-file") }
            key = .hs256(try KeyFiles.secret(fromFile: try options.required("hmac-secret-file")), keyID: try options.value("kid"))
        }
        var claimsText = try options.required("claims")
        if claimsText.hasPrefix("@") { claimsText = try Files.readText(String(claimsText.dropFirst())) }
        let claims: JWTClaims
        do {
            claims = try JWTClaims(payload: Array(claimsText.utf8))
        } catch let error as JOSEError {
            throw UsageError("--claims: \(error.reason)")
        }
        console.write(try JWS.sign(claims: claims, key: key) + "\n")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
