-- One row per billed line item, FOCUS names in snake_case. Renames and casts only.
with source as (

    select * from {{ source('raw', 'billing_line_items') }}

),

renamed as (

    select
        x_billing_period                as billing_period,
        BillingAccountId                as billing_account_id,
        BillingAccountName              as billing_account_name,
        SubAccountId                    as sub_account_id,
        SubAccountName                  as sub_account_name,
        ProviderName                    as provider_name,
        PublisherName                   as publisher_name,
        InvoiceIssuerName               as invoice_issuer_name,
        BillingCurrency                 as billing_currency,
        BillingPeriodStart              as billing_period_start,
        BillingPeriodEnd                as billing_period_end,
        ChargePeriodStart               as charge_period_start,
        ChargePeriodEnd                 as charge_period_end,
        cast(ChargePeriodStart as date) as usage_date,
        ChargeCategory                  as charge_category,
        ChargeClass                     as charge_class,
        ChargeDescription               as charge_description,
        ChargeFrequency                 as charge_frequency,
        BilledCost                      as billed_cost,
        EffectiveCost                   as effective_cost,
        ListCost                        as list_cost,
        ContractedCost                  as contracted_cost,
        PricingCategory                 as pricing_category,
        PricingQuantity                 as pricing_quantity,
        PricingUnit                     as pricing_unit,
        ConsumedQuantity                as consumed_quantity,
        ConsumedUnit                    as consumed_unit,
        ServiceName                     as service_name,
        ServiceCategory                 as service_category,
        ServiceSubcategory              as service_subcategory,
        SkuId                           as sku_id,
        ResourceId                      as resource_id,
        ResourceName                    as resource_name,
        ResourceType                    as resource_type,
        RegionId                        as region_id,
        AvailabilityZone                as availability_zone,
        CommitmentDiscountId            as commitment_discount_id,
        CommitmentDiscountType          as commitment_discount_type,
        CommitmentDiscountStatus        as commitment_discount_status,
        Tags                            as tags,
        x_instance_type                 as instance_type,
        x_gpu_count                     as gpu_count,
        x_gpu_model                     as gpu_model,
        x_usage_type                    as usage_type,
        x_line_item_type                as line_item_type,
        x_line_item_id                  as line_item_id,
        x_source_format                 as source_format,
        x_source_file                   as source_file,
        x_source_row                    as source_row,
        x_ingested_at                   as ingested_at,
        team,
        project,
        job_type,
        experiment_id,
        env
    from source

)

select * from renamed
