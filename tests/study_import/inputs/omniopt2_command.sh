#!/bin/bash
# An OmniOpt2 start command as the docs show it, continued over several lines.
./omniopt \
    --partition=alpha \
    --experiment_name=cli_example \
    --mem_gb=4 \
    --time=90 \
    --worker_timeout=30 \
    --max_eval=200 \
    --num_parallel_jobs=10 \
    --gpus=1 \
    --cpus_per_task 4 \
    --account p_test \
    --reservation res_2024 \
    --seed 7 \
    --follow \
    --send_anonymized_usage_stats \
    --live_share \
    --model BOTORCH_MODULAR \
    --num_random_steps 20 \
    --run_program cHl0aG9uMyB0cmFpbi5weSAtLWxyPSUobHIpIC0tZXBvY2hzICclKGVwb2NocyknIC0tYWN0PSRhY3QgLS1vcHQ9JChvcHQpIC0td2Q9JXdkIC0taG9tZT0kSE9NRQ== \
    --parameter lr range 0.0001 0.1 float true \
    --parameter epochs range 1 50.5 int \
    --parameter wd range 0 0.01 \
    --parameter act choice relu,tanh,sigmoid \
    --parameter opt fixed adam \
    --experiment_constraints bHIgKiBlcG9jaHMgPD0gNQ== \
    --experiment_constraints 'wd <= 0.005' \
    --result_names loss=min acc=max \
    --frobnicate 3
