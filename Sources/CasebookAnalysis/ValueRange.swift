/// The numbers a parameter accepts (`minimum`/`maximum` of an analyzer's parameter or of a
/// playbook's `params`), checked like types: a value outside is an error naming the parameter,
/// the value and the range.
public struct ValueRange: Sendable, Hashable, CustomStringConvertible {
    public var minimum: Double?
    public var maximum: Double?
    /// Whether the minimum itself is excluded (`threshold` must be more than 0).
    public var exclusiveMinimum: Bool

    public init(minimum: Double? = nil, maximum: Double? = nil, exclusiveMinimum: Bool = false) {
        self.minimum = minimum
        self.maximum = maximum
        self.exclusiveMinimum = exclusiveMinimum
    }

    /// `min...max` (both inclusive).
    public static func between(_ minimum: Double, _ maximum: Double) -> ValueRange { ValueRange(minimum: minimum, maximum: maximum) }
    /// `min...`.
    public static func atLeast(_ minimum: Double) -> ValueRange { ValueRange(minimum: minimum) }
    /// More than `minimum`.
    public static func above(_ minimum: Double) -> ValueRange { ValueRange(minimum: minimum, exclusiveMinimum: true) }
    /// A share: 0 to 1.
    public static let share = ValueRange.between(0, 1)

    public static func text(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }

    /// `at least 1`, `more than 0`, `from 0 to 1`, `at most 10`.
    public var description: String {
        switch (minimum, maximum) {
        case (let lo?, let hi?):
            return exclusiveMinimum
                ? "more than \(Self.text(lo)) and at most \(Self.text(hi))" : "from \(Self.text(lo)) to \(Self.text(hi))"
        case (let lo?, nil): return exclusiveMinimum ? "more than \(Self.text(lo))" : "at least \(Self.text(lo))"
        case (nil, let hi?): return "at most \(Self.text(hi))"
        case (nil, nil): return "any number"
        }
    }

    /// Why `value` is outside the range, or `nil` (values that are not numbers are the type
    /// check's business).
    public func problem(with value: Value) -> String? {
        let x: Double
        switch value {
        case .int(let i): x = Double(i)
        case .double(let d): x = d
        default: return nil
        }
        var ok = true
        if let lo = minimum { ok = ok && (exclusiveMinimum ? x > lo : x >= lo) }
        if let hi = maximum { ok = ok && x <= hi }
        if x.isNaN { ok = false }
        return ok ? nil : "\(value.jsonString) is out of range: expected \(self)"
    }
}

extension ParameterSpec {
    /// Why `value` does not fit this parameter (type, then range), or `nil`.
    public func problem(with value: Value) -> String? {
        kind.problem(with: value) ?? range?.problem(with: value)
    }
}
