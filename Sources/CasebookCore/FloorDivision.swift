/// Integer division rounding toward negative infinity.
///
/// Swift's `/` truncates toward zero, so `-1 / 86400` is `0` and a time one second before
/// 1970 would land on 1 January 1970. `floorDiv(-1, 86400)` is `-1`: times before 1970 stay
/// on the right day, hour or week. Use it whenever a time is turned into a bucket.
///
/// ```swift
/// floorDiv(7, 2)    // 3
/// floorDiv(-7, 2)   // -4 (`-7 / 2` is -3)
/// floorDiv(-1, 86400) * 86400   // -86400: the start of 31 December 1969
/// ```
///
/// - Precondition: `b` is not zero.
@inlinable
public func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
