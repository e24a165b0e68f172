/* One time step of the regularized LSTM loop (rnnkit.kernels.loop), all elementwise work
 * fused: the recurrent layer norm, the gate activations, the cell update, the cell's layer
 * norm and tanh, zoneout.  Included twice by lstm_cell.c, with `real` = float and double.
 *
 * The matrix products stay in torch (MKL); these functions do what is left of a step, one
 * pass over each batch row, so a (B, 4H) row is read and written while it is in cache instead
 * of once per torch op.  Layouts: every (B, N) argument is row-major and contiguous; a NULL
 * pointer means "absent" as documented per argument.  The math is the one of loop.py's
 * _LSTMLoop (its docstring), which the tests compare this kernel with.
 */

static inline real SFX(sigm)(real v) { return (real)1 / ((real)1 + EXP(-v)); }

/* mean and 1/sqrt(var + eps) of x[0..n), biased variance as torch's layer norm */
static inline void SFX(stats)(const real *restrict x, int n, real eps, real *mean, real *rstd) {
    real s = 0, q = 0;
    for (int j = 0; j < n; j++) s += x[j];
    const real m = s / n;
    for (int j = 0; j < n; j++) q += (x[j] - m) * (x[j] - m);
    *mean = m;
    *rstd = (real)1 / SQRT(q / n + eps);
}

/* layer-norm backward for one row: dx = rstd * (dxh - mean(dxh) - xh * mean(dxh * xh)), with
 * xh = (x - mean) * rstd and dxh = dy * w; adds dy * xh to dw and dy to db.  dx may be dy. */
static inline void SFX(ln_bwd_row)(const real *dy, const real *restrict x, int n, real mean,
                                   real rstd, const real *restrict w, real *dx,
                                   real *restrict dw, real *restrict db) {
    real s1 = 0, s2 = 0;
    for (int j = 0; j < n; j++) {
        const real xh = (x[j] - mean) * rstd;
        const real dxh = w ? dy[j] * w[j] : dy[j];
        s1 += dxh;
        s2 += dxh * xh;
        dw[j] += dy[j] * xh;
        db[j] += dy[j];
    }
    s1 /= n;
    s2 /= n;
    for (int j = 0; j < n; j++) {
        const real xh = (x[j] - mean) * rstd;
        const real dxh = w ? dy[j] * w[j] : dy[j];
        dx[j] = rstd * (dxh - s1 - xh * s2);
    }
}

/* Forward step.
 *   a      (B, 4H) hin @ w_hh.T; NULL: `g` already holds the whole pre-activation
 *          (x + hin @ w_hh.T) and `x`, ln_a, ln_x are unused
 *   ln_a   nonzero: layer norm on `a`, gain / shift lnw / lnb (either may be NULL: 1 / 0)
 *   x      (B, 4H) the input projections (may alias g)
 *   ln_x   nonzero: layer norm on `x`, gain / shift lnxw / lnxb (NULL ok)
 *   g      (B, 4H) out: activated gates i, f, g, o
 *   c_prev, h_prev (B, H) the state the step starts from
 *   kh, kc (B, H) zoneout / padding keep weights, or NULL
 *   ln_c   nonzero: layer norm on the cell before tanh, gain / shift lncw / lncb (NULL ok)
 *   c, tc, h (B, H) out: cell (after keep), tanh(LN?(c_new)), hidden (after keep)
 *   mu, rs, mux, rsx, muc, rsc (B) out: layer-norm statistics, or NULL when not needed */
void SFX(rk_lstm_fwd)(int B, int H, real eps, const real *restrict a, int ln_a,
                      const real *lnw, const real *lnb, const real *x, int ln_x,
                      const real *lnxw, const real *lnxb, real *g,
                      const real *restrict c_prev, const real *restrict h_prev,
                      const real *restrict kh, const real *restrict kc, int ln_c,
                      const real *restrict lncw, const real *restrict lncb, real *restrict c,
                      real *restrict tc, real *restrict h, real *restrict mu,
                      real *restrict rs, real *restrict mux, real *restrict rsx,
                      real *restrict muc, real *restrict rsc) {
    const int G4 = 4 * H;
    for (int b = 0; b < B; b++) {
        real *gr = g + (long)b * G4;
        const real *cp = c_prev + (long)b * H, *hp = h_prev + (long)b * H;
        real *cr = c + (long)b * H, *tr = tc + (long)b * H, *hr = h + (long)b * H;
        if (a) {
            const real *ar = a + (long)b * G4, *xr = x + (long)b * G4;
            real m = 0, r = 1, mx = 0, rx = 1;
            if (ln_a) {
                SFX(stats)(ar, G4, eps, &m, &r);
                if (mu) {
                    mu[b] = m;
                    rs[b] = r;
                }
            }
            if (ln_x) {
                SFX(stats)(xr, G4, eps, &mx, &rx);
                if (mux) {
                    mux[b] = mx;
                    rsx[b] = rx;
                }
            }
            for (int j = 0; j < G4; j++) {
                real v = ar[j], w = xr[j];
                if (ln_a) {
                    v = (v - m) * r;
                    if (lnw) v *= lnw[j];
                    if (lnb) v += lnb[j];
                }
                if (ln_x) {
                    w = (w - mx) * rx;
                    if (lnxw) w *= lnxw[j];
                    if (lnxb) w += lnxb[j];
                }
                gr[j] = v + w;
            }
        }
        for (int j = 0; j < 2 * H; j++) gr[j] = SFX(sigm)(gr[j]);
        for (int j = 2 * H; j < 3 * H; j++) gr[j] = TANH(gr[j]);
        for (int j = 3 * H; j < G4; j++) gr[j] = SFX(sigm)(gr[j]);
        const real *gi = gr, *gf = gr + H, *gg = gr + 2 * H, *go = gr + 3 * H;
        for (int j = 0; j < H; j++) cr[j] = gf[j] * cp[j] + gi[j] * gg[j];
        if (ln_c) {
            real m, r;
            SFX(stats)(cr, H, eps, &m, &r);
            if (muc) {
                muc[b] = m;
                rsc[b] = r;
            }
            for (int j = 0; j < H; j++) {
                real v = (cr[j] - m) * r;
                if (lncw) v *= lncw[j];
                if (lncb) v += lncb[j];
                tr[j] = TANH(v);
            }
        } else {
            for (int j = 0; j < H; j++) tr[j] = TANH(cr[j]);
        }
        for (int j = 0; j < H; j++) hr[j] = go[j] * tr[j];
        if (kh) {
            const real *k = kh + (long)b * H;
            for (int j = 0; j < H; j++) hr[j] += k[j] * (hp[j] - hr[j]);
        }
        if (kc) {
            const real *k = kc + (long)b * H;
            for (int j = 0; j < H; j++) cr[j] += k[j] * (cp[j] - cr[j]);
        }
    }
}

/* Backward step (the inverse of rk_lstm_fwd for one step).
 *   dht    (B, H) gradient wrt the (kept) hidden state of this step, all terms included
 *   u      (B, H) in: gradient wrt the (kept) cell state of this step; out: wrt c_prev
 *   g, c_prev, tc, kh, kc: as saved by the forward step (kh, kc may be NULL)
 *   ln_c, lncw, muc, rsc: the cell layer norm (lncw may be NULL); dgcw, dgcb (H) out: this
 *          step's gain / shift gradients (overwritten)
 *   dA     (B, 4H) out: gradient wrt the gate pre-activations, or NULL (not kept)
 *   ar, lnw, mu, rs: the recurrent layer norm's input, gain (NULL ok) and statistics; ar NULL
 *          when there is none; then dsrc, dgw, dgb are unused.  dsrc (B, 4H) out: the
 *          gradient wrt ar; dgw, dgb (4H) out: this step's gain / shift gradients
 *   xr, lnxw, mux, rsx, dx, dgxw, dgxb: the same for the input projections' layer norm
 *   work   (6H) scratch */
void SFX(rk_lstm_bwd)(int B, int H, const real *restrict dht, real *restrict u,
                      const real *restrict g, const real *restrict c_prev,
                      const real *restrict tc, const real *restrict kh,
                      const real *restrict kc, int ln_c, const real *restrict lncw,
                      const real *restrict muc, const real *restrict rsc, real *restrict dgcw,
                      real *restrict dgcb, real *restrict dA, const real *restrict ar,
                      const real *restrict lnw, const real *restrict mu,
                      const real *restrict rs, real *restrict dsrc, real *restrict dgw,
                      real *restrict dgb, const real *restrict xp, const real *restrict lnxw,
                      const real *restrict mux, const real *restrict rsx, real *restrict dx,
                      real *restrict dgxw, real *restrict dgxb, real *restrict work) {
    const int G4 = 4 * H;
    real *dcn = work, *tmp = work + H, *drow = work + 2 * H;
    if (ln_c)
        for (int j = 0; j < H; j++) dgcw[j] = dgcb[j] = 0;
    if (ar)
        for (int j = 0; j < G4; j++) dgw[j] = dgb[j] = 0;
    if (xp)
        for (int j = 0; j < G4; j++) dgxw[j] = dgxb[j] = 0;
    for (int b = 0; b < B; b++) {
        const real *gr = g + (long)b * G4, *cp = c_prev + (long)b * H, *tr = tc + (long)b * H;
        const real *dr = dht + (long)b * H;
        const real *gi = gr, *gf = gr + H, *gg = gr + 2 * H, *go = gr + 3 * H;
        real *ur = u + (long)b * H, *dar = dA ? dA + (long)b * G4 : drow;
        const real *khr = kh ? kh + (long)b * H : 0, *kcr = kc ? kc + (long)b * H : 0;
        /* tmp = gradient wrt LN_c's output (or c_new), before the layer norm */
        for (int j = 0; j < H; j++) {
            const real dhn = khr ? dr[j] * (1 - khr[j]) : dr[j];
            const real o = go[j], t = tr[j];
            dar[3 * H + j] = dhn * t * o * (1 - o);
            tmp[j] = dhn * o * (1 - t * t);
        }
        if (ln_c) {
            real *cn = dcn; /* c_new, rebuilt (the saved cell is the kept one) */
            for (int j = 0; j < H; j++) cn[j] = gf[j] * cp[j] + gi[j] * gg[j];
            SFX(ln_bwd_row)(tmp, cn, H, muc[b], rsc[b], lncw, tmp, dgcw, dgcb);
        }
        /* one output stream per loop: with every buffer page-aligned, a loop that reads and
         * writes many rows at the same page offset stalls on 4K-aliased loads (measured 4x) */
        real *d = tmp;
        if (kcr) {
            for (int j = 0; j < H; j++) d[j] += ur[j] * (1 - kcr[j]);
            for (int j = 0; j < H; j++) ur[j] = d[j] * gf[j] + kcr[j] * ur[j];
        } else {
            for (int j = 0; j < H; j++) d[j] += ur[j];
            for (int j = 0; j < H; j++) ur[j] = d[j] * gf[j];
        }
        for (int j = 0; j < H; j++) dar[j] = d[j] * gg[j] * gi[j] * (1 - gi[j]);
        for (int j = 0; j < H; j++) dar[H + j] = d[j] * cp[j] * gf[j] * (1 - gf[j]);
        for (int j = 0; j < H; j++) dar[2 * H + j] = d[j] * gi[j] * (1 - gg[j] * gg[j]);
        if (ar)
            SFX(ln_bwd_row)(dar, ar + (long)b * G4, G4, mu[b], rs[b], lnw,
                            dsrc + (long)b * G4, dgw, dgb);
        if (xp)
            SFX(ln_bwd_row)(dar, xp + (long)b * G4, G4, mux[b], rsx[b], lnxw,
                            dx + (long)b * G4, dgxw, dgxb);
    }
}
