import CasebookAnalysis
import Foundation

/// Count statistics for spike detection: how surprising a count is under a Poisson law, as a
/// normal-equivalent z, so that a day with 3 downloads where 1 was expected (p ≈ 0.08) is not
/// a "+200% spike" while a day with 0 where 100 were expected is.
enum CountSignificance {
    /// The smallest expected count used: a series that is zero almost always still makes a
    /// handful of downloads unsurprising, never infinitely so.
    static let minimumRate = 0.5

    /// The signed normal-equivalent z of `observed` against a Poisson law of mean `expected`:
    /// positive for an upper tail (`P(X ≥ observed)`), negative for a lower tail
    /// (`P(X ≤ observed)`), 0 when the count is at the mean. Capped at ±40.
    static func poissonZ(observed: Double, expected: Double) -> Double {
        let lambda = max(expected, minimumRate)
        let k = observed.rounded()
        if abs(k - lambda) < 0.5 { return 0 }
        if k > lambda {
            // P(X ≥ k) = P(k, λ), the regularised lower incomplete gamma function.
            let logP = logRegularizedGammaP(a: k, x: lambda)
            return min(40, zOfUpperTail(logP: logP))
        } else {
            // P(X ≤ k) = Q(k + 1, λ).
            let logQ = logRegularizedGammaQ(a: k + 1, x: lambda)
            return -min(40, zOfUpperTail(logP: logQ))
        }
    }

    /// The z whose upper normal tail has probability `exp(logP)` (0 for a probability of at
    /// least one half).
    static func zOfUpperTail(logP: Double) -> Double {
        if logP >= log(0.5) { return 0 }
        if logP < -600 {
            // Asymptotic: p ≈ φ(z)/z for large z.
            let t = -2 * logP
            return (t - log(t) - log(2 * Double.pi)).squareRoot()
        }
        return -inverseNormalCDF(exp(logP))
    }

    /// Acklam's rational approximation of the normal quantile (relative error under 1.2e-9).
    static func inverseNormalCDF(_ p: Double) -> Double {
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
            2.506628277459239e+00
        ]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
            2.938163982698783e+00
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if p <= 0 { return -40 }
        if p >= 1 { return 40 }
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        if p <= 1 - low {
            let q = p - 0.5
            let r = q * q
            return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        }
        let q = (-2 * log(1 - p)).squareRoot()
        return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }

    /// `log P(a, x)`, the regularised lower incomplete gamma function (Numerical Recipes'
    /// series below `a + 1`, continued fraction above), in log space so that tiny tails survive.
    static func logRegularizedGammaP(a: Double, x: Double) -> Double {
        if x <= 0 { return -Double.infinity }
        if x < a + 1 { return logGammaSeries(a: a, x: x) }
        let logQ = logGammaContinuedFraction(a: a, x: x)
        return log1p(-min(exp(logQ), 1 - 1e-300))
    }

    /// `log Q(a, x) = log(1 − P(a, x))`.
    static func logRegularizedGammaQ(a: Double, x: Double) -> Double {
        if x <= 0 { return 0 }
        if x < a + 1 {
            let logP = logGammaSeries(a: a, x: x)
            return log1p(-min(exp(logP), 1 - 1e-300))
        }
        return logGammaContinuedFraction(a: a, x: x)
    }

    private static func logGammaSeries(a: Double, x: Double) -> Double {
        var ap = a
        var term = 1 / a
        var sum = term
        for _ in 0..<10_000 {
            ap += 1
            term *= x / ap
            sum += term
            if abs(term) < abs(sum) * 1e-15 { break }
        }
        return log(sum) - x + a * log(x) - lgamma(a)
    }

    private static func logGammaContinuedFraction(a: Double, x: Double) -> Double {
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1...10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return log(h) - x + a * log(x) - lgamma(a)
    }
}

/// Least squares for the few-parameter models level-shift detection fits, with Tukey bisquare
/// reweighting so that a short spike inside the fitted stretch does not pull the fit.
enum RobustFit {
    struct Result {
        var coefficients: [Double]
        /// Robust residual scale (1.4826 × MAD of the residuals).
        var sigma: Double
        /// Standard error of each coefficient at that scale.
        var standardErrors: [Double]
        /// Sum of squared residuals of the points that kept weight.
        var rss: Double
        var residuals: [Double]
    }

    /// Fits `y ≈ X β` (rows of `x`, a few columns); nil when the system is singular.
    static func fit(_ x: [[Double]], _ y: [Double], iterations: Int = 4, sigmaFloor: Double = 0) -> Result? {
        let n = y.count
        guard n > 0, let p = x.first?.count, n > p else { return nil }
        var w = [Double](repeating: 1, count: n)
        var beta: [Double] = []
        var sigma = 0.0
        var inverse: [[Double]] = []
        var residuals = [Double](repeating: 0, count: n)
        for iteration in 0...iterations {
            var xtx = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
            var xty = [Double](repeating: 0, count: p)
            for i in 0..<n where w[i] > 0 {
                for j in 0..<p {
                    xty[j] += w[i] * x[i][j] * y[i]
                    for k in 0..<p { xtx[j][k] += w[i] * x[i][j] * x[i][k] }
                }
            }
            guard let inv = invert(xtx) else { return nil }
            inverse = inv
            beta = (0..<p).map { j in (0..<p).reduce(0) { $0 + inv[j][$1] * xty[$1] } }
            for i in 0..<n { residuals[i] = y[i] - (0..<p).reduce(0) { $0 + x[i][$1] * beta[$1] } }
            sigma = max(1.4826 * Stats.median(residuals.map(abs)), sigmaFloor, 1e-12)
            if iteration == iterations { break }
            for i in 0..<n {
                let u = residuals[i] / (4.685 * sigma)
                w[i] = abs(u) < 1 ? (1 - u * u) * (1 - u * u) : 0
            }
        }
        let rss = (0..<n).reduce(0.0) { $0 + (w[$1] > 0 ? residuals[$1] * residuals[$1] : 0) }
        return Result(
            coefficients: beta, sigma: sigma, standardErrors: (0..<p).map { sigma * max(inverse[$0][$0], 0).squareRoot() }, rss: rss,
            residuals: residuals)
    }

    /// Gauss–Jordan inverse of a small symmetric matrix; nil when singular.
    static func invert(_ m: [[Double]]) -> [[Double]]? {
        let n = m.count
        var a = m
        var inv = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for col in 0..<n {
            guard let pivot = (col..<n).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[pivot][col]) > 1e-12 else { return nil }
            a.swapAt(col, pivot)
            inv.swapAt(col, pivot)
            let f = a[col][col]
            for k in 0..<n {
                a[col][k] /= f
                inv[col][k] /= f
            }
            for r in 0..<n where r != col {
                let g = a[r][col]
                if g == 0 { continue }
                for k in 0..<n {
                    a[r][k] -= g * a[col][k]
                    inv[r][k] -= g * inv[col][k]
                }
            }
        }
        return inv
    }
}
