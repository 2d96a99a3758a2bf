internal import IECCLI
internal import IECCrypto
internal import IECJSON
internal import JOSE

enum KeygenCommand {
    static let usage = """
        Usage:
          iecutil keygen curve
              Prints a new CURVE key pair for ZeroMQ as JSON:
              {"public_key": "<40 Z85 characters>", "secret_key": "<40 Z85 characters>"},
              the form the zmq_server and zmq_client sections of the config files take.

          iecutil keygen p256 [--private-key-out FILE] [--force]
              Prints a new P-256 (ES256) key pair as JSON: private_key_pem (PKCS#8),
              public_key_pem (SPKI) and jwk (public, kid = RFC 7638 thumbprint).
              --private-key-out FILE  write the private key to FILE (mode 0600) instead
                                      of printing it
              --force                 replace FILE if it exists

        """

    static func run(_ arguments: [String], console: any Console) throws {
        guard let kind = arguments.first, !kind.hasPrefix("-") else {
            if arguments.contains(where: { $0 == "--help" || $0 == "-h" }) {
                console.write(usage)
                return
            }
            throw UsageError("keygen needs a key type: curve or p256")
        }
        switch kind {
        case "curve":
            let options = try ParsedArguments(arguments.dropFirst(), valued: [])
            if options.wantsHelp { return console.write(usage) }
            guard options.positionals.isEmpty else { throw UsageError("keygen curve takes no arguments") }
            let pair = CurveKeyPair()
            let json: JSONValue = ["public_key": .string(pair.publicKeyZ85), "secret_key": .string(pair.secretKeyZ85)]
            console.write(json.serialized(pretty: true) + "\n")
        case "p256":
            let options = try ParsedArguments(arguments.dropFirst(), valued: ["private-key-out"], flags: ["force"])
            if options.wantsHelp { return console.write(usage) }
            guard options.positionals.isEmpty else { throw UsageError("keygen p256 takes no arguments") }
            let key: P256.PrivateKey
            do { key = try P256.PrivateKey() } catch { throw CommandFailure("key generation failed: \(error)") }
            var json: [String: JSONValue] = [
                "public_key_pem": .string(key.publicKey.pemRepresentation),
                "jwk": JWK(publicKey: key.publicKey).json,
            ]
            if let path = try options.value("private-key-out") {
                try Files.writeSecret(Array(key.pemRepresentation.utf8), to: path, replace: options.has("force"))
                json["private_key_file"] = .string(path)
            } else {
                json["private_key_pem"] = .string(key.pemRepresentation)
            }
            console.write(JSONValue.object(json).serialized(pretty: true) + "\n")
        default:
            throw UsageError("unknown key type \"\(kind)\" (curve or p256)")
        }
    }
}

enum JWKSCommand {
    static let usage = """
        Usage:
          iecutil jwks PEMFILE...
              Prints the JWK Set of the public keys in the PEM files (private or public
              P-256 keys; only public parts are printed), each with kid = its RFC 7638
              thumbprint, use "sig" and alg "ES256".

        """

    static func run(_ arguments: [String], console: any Console) throws {
        let options = try ParsedArguments(arguments, valued: [])
        if options.wantsHelp { return console.write(usage) }
        guard !options.positionals.isEmpty else { throw UsageError("jwks needs at least one PEM file") }
        var keys: [JWK] = []
        for path in options.positionals {
            keys.append(JWK(publicKey: try KeyFiles.publicKey(fromPEMFile: path)))
        }
        console.write(JWKS(keys: keys).json.serialized(pretty: true) + "\n")
    }
}

enum KeyFiles {
    /// The public key of a PEM file holding a P-256 private or public key.
    static func publicKey(fromPEMFile path: String) throws -> P256.PublicKey {
        let pem = try Files.readText(path)
        if let key = try? P256.PrivateKey(pemRepresentation: pem) { return key.publicKey }
        if let key = try? P256.PublicKey(pemRepresentation: pem) { return key }
        throw CommandFailure("\(path) holds no P-256 key in PEM")
    }

    static func privateKey(fromPEMFile path: String) throws -> P256.PrivateKey {
        let pem = try Files.readText(path)
        do {
            return try P256.PrivateKey(pemRepresentation: pem)
        } catch {
            throw CommandFailure("\(path) holds no P-256 private key in PEM")
        }
    }

    /// An HMAC secret file: its bytes, less one trailing newline that editors add.
    static func secret(fromFile path: String) throws -> [UInt8] {
        var bytes = try Files.read(path)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw CommandFailure("\(path) is empty") }
        return bytes
    }
}
