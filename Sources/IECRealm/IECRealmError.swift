/// A refusal of the IEC realm service, in AM's REST error shape
/// (`{"code": 401, "reason": "Unauthorized", "message": "..."}`), which the
/// gateway turns into the SDK's `am_error` with `message` as its description.
public struct IECRealmError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let message: String
    /// For the log only; never sent.
    public let hint: String?

    public init(status: Int, _ message: String, hint: String? = nil) {
        self.status = status
        self.message = message
        self.hint = hint
    }

    public static func badRequest(_ message: String, hint: String? = nil) -> Self { Self(status: 400, message, hint: hint) }
    public static func unauthorized(_ message: String, hint: String? = nil) -> Self { Self(status: 401, message, hint: hint) }
    public static func forbidden(_ message: String, hint: String? = nil) -> Self { Self(status: 403, message, hint: hint) }
    public static func notFound(_ message: String) -> Self { Self(status: 404, message) }
    public static func conflict(_ message: String) -> Self { Self(status: 409, message) }
    public static func serverError(hint: String) -> Self { Self(status: 500, "internal server error", hint: hint) }

    public var description: String { message }
}
