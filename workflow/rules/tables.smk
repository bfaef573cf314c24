# The paper's tables and figures, from the results tree alone.


rule tables:
    input:
        tables_inputs,
    output:
        tables=[
            f"{RESULTS}/tables/table{t}.{ext}" for t in TABLES for ext in ("md", "tex")
        ],
        # the CSVs in the report too (it shows them as tables): snakemake --report report.html
        csv=[
            report(
                f"{RESULTS}/tables/table{t}.csv",
                caption="../report/table.rst",
                category="Tables",
            )
            for t in TABLES
        ],
        fig1=report(
            f"{RESULTS}/figures/fig1.png",
            caption="../report/fig1.rst",
            category="Figures",
        ),
        fig4=report(
            f"{RESULTS}/figures/fig4.png",
            caption="../report/fig4.rst",
            category="Figures",
        ),
        fig5=report(
            f"{RESULTS}/figures/fig5.png",
            caption="../report/fig5.rst",
            category="Figures",
        ),
        # Table 2 as a figure; only with a benchmark, as Table 2 itself.
        fig_table2=(
            report(
                f"{RESULTS}/figures/fig_table2.png",
                caption="../report/fig_table2.rst",
                category="Figures",
            )
            if BENCHMARK
            else []
        ),
    log:
        f"{RESULTS}/logs/tables.log",
    benchmark:
        f"{RESULTS}/times/tables.tsv"
    threads: resources("light")["threads"]
    resources:
        **job_resources("light"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("tables"),
        results=lambda w, output: Path(output.fig1).parents[1],
    shell:
        "naslid tables --config {params.config_file} --results {params.results} 2> {log}"
