-- The fitted CLV models, one row per parameter (or one row saying why a model was not fitted).
with fits as (
    select * from clv_fit_params
),

final as (
    select model, parameter, value, log_likelihood, customers, converged, iterations, time_unit, note
    from fits
)

select * from final
