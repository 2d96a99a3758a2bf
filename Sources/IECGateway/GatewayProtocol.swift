public import IECJSON

/// The SDK ↔ gateway messages of docs/protocol.md, version 1, as values.
/// Pure: bytes in, values out, and back.
public enum GatewayProtocol {
    public static let version: Int64 = 1

    /// A request the gateway understood.
    public struct Request: Sendable, Hashable {
        public var requestID: String
        public var clientID: String
        public var operation: Operation
    }

    public enum Operation: Sendable, Hashable {
        case ping
        case initialise
        case registerDevice(deviceID: String, registrationData: String?)
        case deviceConfiguration(deviceID: String)
        case deviceTokens(deviceID: String)
        case userCode(deviceID: String)
        case userTokens(deviceID: String, deviceCode: String)
        case customCommand(deviceID: String, command: String, params: String?)
        case introspect(token: String)

        public var name: String {
            switch self {
            case .ping: return "ping"
            case .initialise: return "initialise"
            case .registerDevice: return "register_device"
            case .deviceConfiguration: return "device_configuration"
            case .deviceTokens: return "device_tokens"
            case .userCode: return "user_code"
            case .userTokens: return "user_tokens"
            case .customCommand: return "custom_command"
            case .introspect: return "introspect"
            }
        }
    }

    /// Error codes of the failure answer.
    public enum ErrorCode {
        public static let amError = "am_error"
        public static let amUnavailable = "am_unavailable"
        public static let notRegistered = "not_registered"
        public static let badRequest = "bad_request"
        public static let unsupportedVersion = "unsupported_version"
        public static let unknownOperation = "unknown_operation"
        public static let timeout = "timeout"
        public static let shuttingDown = "shutting_down"
        public static let internalError = "internal_error"
    }

    /// A failure to report to the client.
    public struct Failure: Error, Sendable, Hashable {
        public var code: String
        public var description: String
        public var url: String

        public init(_ code: String, _ description: String, url: String = "") {
            self.code = code
            self.description = description
            self.url = url
        }
    }

    /// A request that could not be understood, with whatever request id could be read.
    public struct ParseFailure: Error, Sendable, Hashable {
        public var requestID: String
        public var failure: Failure
    }

    /// The outcome of parsing: a request, or a failure to answer with whatever request id could be read.
    public static func parse(_ bytes: [UInt8]) -> Result<Request, ParseFailure> {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes, limits: .init(maxBytes: 1 << 20, maxDepth: 16))
        } catch {
            return .failure(ParseFailure(requestID: "", failure: Failure(ErrorCode.badRequest, "the request is not valid JSON: \(error)")))
        }
        guard case .object = json else { return .failure(ParseFailure(requestID: "", failure: Failure(ErrorCode.badRequest, "the request must be a JSON object"))) }
        let requestID: String
        switch json["request_id"] {
        case .string(let text) where !text.isEmpty && text.utf8.count <= 64: requestID = text
        case .int(let number): requestID = String(number)
        default: return .failure(ParseFailure(requestID: "", failure: Failure(ErrorCode.badRequest, "request_id must be a string of 1 to 64 characters")))
        }
        func fail(_ code: String, _ message: String) -> Result<Request, ParseFailure> {
            .failure(ParseFailure(requestID: requestID, failure: Failure(code, message)))
        }
        guard let version = json["v"]?.int64Value else { return fail(ErrorCode.badRequest, "v (the protocol version) is required") }
        guard version == Self.version else { return fail(ErrorCode.unsupportedVersion, "protocol version \(version) is not supported; this gateway speaks 1") }
        guard let op = json["op"]?.stringValue else { return fail(ErrorCode.badRequest, "op is required") }
        func string(_ name: String, required: Bool = true) -> (String?, Failure?) {
            guard let value = json[name], value != .null else {
                return (nil, required ? Failure(ErrorCode.badRequest, "\(name) is required for \(op)") : nil)
            }
            guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 64 * 1024 else {
                return (nil, Failure(ErrorCode.badRequest, "\(name) must be a non-empty string"))
            }
            return (text, nil)
        }
        var clientID = ""
        if op != "ping" {
            let (value, failure) = string("client_id")
            if let failure { return .failure(ParseFailure(requestID: requestID, failure: failure)) }
            clientID = value!
            guard clientID.utf8.count <= 128 else { return fail(ErrorCode.badRequest, "client_id is longer than 128 bytes") }
        }
        func device() -> (String?, Failure?) {
            let (value, failure) = string("device_id")
            if let value, value.utf8.count > 128 { return (nil, Failure(ErrorCode.badRequest, "device_id is longer than 128 bytes")) }
            return (value, failure)
        }
        let operation: Operation
        switch op {
        case "ping": operation = .ping
        case "initialise": operation = .initialise
        case "register_device", "device_configuration", "device_tokens", "user_code", "user_tokens", "custom_command":
            let (deviceID, failure) = device()
            if let failure { return .failure(ParseFailure(requestID: requestID, failure: failure)) }
            switch op {
            case "register_device":
                let (data, dataFailure) = string("registration_data", required: false)
                if let dataFailure { return .failure(ParseFailure(requestID: requestID, failure: dataFailure)) }
                operation = .registerDevice(deviceID: deviceID!, registrationData: data)
            case "device_configuration": operation = .deviceConfiguration(deviceID: deviceID!)
            case "device_tokens": operation = .deviceTokens(deviceID: deviceID!)
            case "user_code": operation = .userCode(deviceID: deviceID!)
            case "user_tokens":
                let (code, codeFailure) = string("device_code")
                if let codeFailure { return .failure(ParseFailure(requestID: requestID, failure: codeFailure)) }
                operation = .userTokens(deviceID: deviceID!, deviceCode: code!)
            default:
                let (command, commandFailure) = string("command")
                if let commandFailure { return .failure(ParseFailure(requestID: requestID, failure: commandFailure)) }
                let (params, paramsFailure) = string("params", required: false)
                if let paramsFailure { return .failure(ParseFailure(requestID: requestID, failure: paramsFailure)) }
                operation = .customCommand(deviceID: deviceID!, command: command!, params: params)
            }
        case "introspect":
            let (token, failure) = string("token")
            if let failure { return .failure(ParseFailure(requestID: requestID, failure: failure)) }
            operation = .introspect(token: token!)
        default:
            return fail(ErrorCode.unknownOperation, "unknown operation \"\(op.prefix(40))\"")
        }
        return .success(Request(requestID: requestID, clientID: clientID, operation: operation))
    }

    public static func success(requestID: String, result: JSONValue) -> [UInt8] {
        JSONValue.object(["v": .int(version), "request_id": .string(requestID), "ok": true, "result": result]).serializedBytes()
    }

    /// The same answer as `success(requestID:result:)` for a result that is already
    /// compact JSON text (members sorted, as `JSONValue.serializedBytes` writes them).
    public static func success(requestID: String, serializedResult: [UInt8]) -> [UInt8] {
        var out = Array(#"{"ok":true,"request_id":"#.utf8)
        out += JSONValue.string(requestID).serializedBytes()
        out += Array(#","result":"#.utf8)
        out += serializedResult
        out += Array(#","v":\#(version)}"#.utf8)
        return out
    }

    public static func failure(requestID: String, _ failure: Failure) -> [UInt8] {
        JSONValue.object([
            "v": .int(version), "request_id": .string(requestID), "ok": false,
            "error": ["code": .string(failure.code), "description": .string(failure.description), "url": .string(failure.url)],
        ]).serializedBytes()
    }

    /// A request as a client sends it.
    public static func encode(requestID: String, clientID: String, operation: Operation) -> [UInt8] {
        var members: [String: JSONValue] = ["v": .int(version), "request_id": .string(requestID), "op": .string(operation.name)]
        if case .ping = operation {} else { members["client_id"] = .string(clientID) }
        switch operation {
        case .ping, .initialise: break
        case .registerDevice(let device, let data):
            members["device_id"] = .string(device)
            if let data { members["registration_data"] = .string(data) }
        case .deviceConfiguration(let device), .deviceTokens(let device), .userCode(let device):
            members["device_id"] = .string(device)
        case .userTokens(let device, let code):
            members["device_id"] = .string(device)
            members["device_code"] = .string(code)
        case .customCommand(let device, let command, let params):
            members["device_id"] = .string(device)
            members["command"] = .string(command)
            if let params { members["params"] = .string(params) }
        case .introspect(let token):
            members["token"] = .string(token)
        }
        return JSONValue.object(members).serializedBytes()
    }
}
