import { Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as quicksight from 'aws-cdk-lib/aws-quicksight';
import { Construct } from 'constructs';
import type { ReconConfig } from '../config.ts';
import { PREFIXES, type S3Grant, type Storage } from './storage.ts';

/**
 * The divergences Parquet (RULES §6), column by column: its Glue (Hive) type and its QuickSight
 * type. Order = the writer's order (services/reporter parquet.ts).
 */
export const DIVERGENCE_COLUMNS = [
  { name: 'job_id', glue: 'string', quickSight: 'STRING' },
  { name: 'tipo_divergencia', glue: 'string', quickSight: 'STRING' },
  { name: 'severidade', glue: 'string', quickSight: 'STRING' },
  { name: 'ordem_id', glue: 'string', quickSight: 'STRING' },
  { name: 'fornecedor_id', glue: 'string', quickSight: 'STRING' },
  { name: 'nome', glue: 'string', quickSight: 'STRING' },
  { name: 'ativo_id', glue: 'string', quickSight: 'STRING' },
  { name: 'data', glue: 'date', quickSight: 'DATETIME' },
  { name: 'data_base', glue: 'date', quickSight: 'DATETIME' },
  { name: 'valor_csv', glue: 'decimal(18,2)', quickSight: 'DECIMAL' },
  { name: 'valor_base', glue: 'decimal(18,2)', quickSight: 'DECIMAL' },
  { name: 'diferenca', glue: 'decimal(18,2)', quickSight: 'DECIMAL' },
  { name: 'campo', glue: 'string', quickSight: 'STRING' },
  { name: 'detalhes', glue: 'string', quickSight: 'STRING' },
  { name: 'hash_linha', glue: 'string', quickSight: 'STRING' },
  { name: 'linha_arquivo', glue: 'int', quickSight: 'INTEGER' },
  { name: 'timestamp', glue: 'timestamp', quickSight: 'DATETIME' },
] as const;

/** The Hive-style partition of the output keys: `divergencias/dt=YYYY-MM-DD/`. */
export const PARTITION_KEY = { name: 'dt', glue: 'string', quickSight: 'STRING' } as const;

const DATASET_ACTIONS = [
  'quicksight:DescribeDataSet',
  'quicksight:DescribeDataSetPermissions',
  'quicksight:PassDataSet',
  'quicksight:DescribeIngestion',
  'quicksight:ListIngestions',
  'quicksight:UpdateDataSet',
  'quicksight:DeleteDataSet',
  'quicksight:CreateIngestion',
  'quicksight:CancelIngestion',
  'quicksight:UpdateDataSetPermissions',
];
const DATA_SOURCE_ACTIONS = [
  'quicksight:DescribeDataSource',
  'quicksight:DescribeDataSourcePermissions',
  'quicksight:PassDataSource',
  'quicksight:UpdateDataSource',
  'quicksight:DeleteDataSource',
  'quicksight:UpdateDataSourcePermissions',
];
const ANALYSIS_ACTIONS = [
  'quicksight:RestoreAnalysis',
  'quicksight:UpdateAnalysisPermissions',
  'quicksight:DeleteAnalysis',
  'quicksight:DescribeAnalysisPermissions',
  'quicksight:QueryAnalysis',
  'quicksight:DescribeAnalysis',
  'quicksight:UpdateAnalysis',
];

/**
 * Glue catalog over the divergences Parquet (partition projection on `dt`, so Athena sees a new
 * day without any call), an Athena workgroup, and QuickSight: data source (Athena), SPICE dataset,
 * and the "Visão Geral de Divergências" analysis (technical document §4).
 */
export class Analytics extends Construct {
  readonly databaseName: string;
  readonly tableName: string;
  readonly table: glue.CfnTable;
  readonly workGroup: athena.CfnWorkGroup;
  readonly dataSource: quicksight.CfnDataSource;
  readonly dataSet: quicksight.CfnDataSet;
  readonly analysis: quicksight.CfnAnalysis;
  /** The role QuickSight queries Athena with, and its S3 access. */
  readonly quickSightRole: iam.Role;
  readonly s3Grants: readonly S3Grant[];
  private readonly stack: Stack;

  constructor(scope: Construct, id: string, props: { config: ReconConfig; storage: Storage }) {
    super(scope, id);
    const { config, storage } = props;
    this.stack = Stack.of(this);
    const { account, region } = this.stack;
    this.databaseName = config.glue.database;
    this.tableName = config.glue.table;
    const output = storage.buckets.output;
    const location = `s3://${output.bucketName}/${PREFIXES.divergences.prefix}`;

    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: { name: this.databaseName, description: 'recon: reconciliation divergences' },
    });

    this.table = new glue.CfnTable(this, 'DivergencesTable', {
      catalogId: account,
      databaseName: this.databaseName,
      tableInput: {
        name: this.tableName,
        description: 'One row per divergence (RULES §6), partitioned by reference date',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ name: PARTITION_KEY.name, type: PARTITION_KEY.glue }],
        parameters: {
          classification: 'parquet',
          EXTERNAL: 'TRUE',
          'parquet.compression': 'SNAPPY',
          // Partition projection: Athena computes the partitions from this, no catalog call needed.
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': `${config.glue.projectionStart},NOW`,
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'storage.location.template': `${location}dt=\${dt}/`,
        },
        storageDescriptor: {
          location,
          columns: DIVERGENCE_COLUMNS.map((c) => ({ name: c.name, type: c.glue })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            parameters: { 'serialization.format': '1' },
          },
          compressed: true,
        },
      },
    });
    this.table.node.addDependency(database);

    const results = PREFIXES.athenaResults;
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: config.prefix,
      description: 'recon: queries of the divergences (QuickSight, operators)',
      recursiveDeleteOption: false,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${storage.buckets[results.bucket].bucketName}/${results.prefix}`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: storage.dataKey.keyArn },
        },
      },
    });

    // QuickSight queries through Athena with this role (not the account-wide QuickSight role), so
    // its access is exactly: this workgroup, this table, the divergences prefix, the data key.
    const role = new iam.Role(this, 'QuickSightRole', {
      roleName: `${config.prefix}-quicksight`,
      assumedBy: new iam.ServicePrincipal('quicksight.amazonaws.com'),
      description: 'recon QuickSight data source: read the divergences through Athena',
    });
    const catalogArn = `arn:${this.stack.partition}:glue:${region}:${account}:catalog`;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
          'athena:GetWorkGroup',
        ],
        resources: [
          `arn:${this.stack.partition}:athena:${region}:${account}:workgroup/${this.workGroup.name}`,
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: [catalogArn, this.databaseArn(), this.tableArn()],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation'],
        resources: [output.bucketArn, storage.buckets[results.bucket].bucketArn],
      }),
    );
    this.quickSightRole = role;
    this.s3Grants = [
      { bucket: 'output', prefixes: [PREFIXES.divergences.prefix], access: ['read', 'list'] },
      { bucket: results.bucket, prefixes: [results.prefix], access: ['read', 'write', 'list'] },
    ];
    storage.grant(role, this.s3Grants);

    const principal = config.quickSight.principalArn;
    const permissions = (actions: string[]) => (principal ? [{ principal, actions }] : undefined);

    this.dataSource = new quicksight.CfnDataSource(this, 'DataSource', {
      awsAccountId: account,
      dataSourceId: `${config.prefix}-athena`,
      name: 'recon (Athena)',
      type: 'ATHENA',
      dataSourceParameters: { athenaParameters: { workGroup: this.workGroup.name, roleArn: role.roleArn } },
      sslProperties: { disableSsl: false },
      permissions: permissions(DATA_SOURCE_ACTIONS),
    });
    this.dataSource.node.addDependency(this.workGroup);
    this.dataSource.node.addDependency(role);

    const physicalId = 'divergencias';
    this.dataSet = new quicksight.CfnDataSet(this, 'DataSet', {
      awsAccountId: account,
      dataSetId: config.quickSight.dataSetId,
      name: 'Divergências de conciliação',
      // SPICE: the reporter refreshes it after each job (CreateIngestion), dashboards stay fast.
      importMode: 'SPICE',
      physicalTableMap: {
        [physicalId]: {
          relationalTable: {
            dataSourceArn: this.dataSource.attrArn,
            catalog: 'AwsDataCatalog',
            schema: this.databaseName,
            name: this.tableName,
            inputColumns: [...DIVERGENCE_COLUMNS, PARTITION_KEY].map((c) => ({
              name: c.name,
              type: c.quickSight,
            })),
          },
        },
      },
      permissions: permissions(DATASET_ACTIONS),
    });
    this.dataSet.node.addDependency(this.table);

    this.analysis = new quicksight.CfnAnalysis(this, 'Analysis', {
      awsAccountId: account,
      analysisId: `${config.prefix}-visao-geral`,
      name: 'Visão Geral de Divergências',
      definition: overviewDefinition(this.dataSet.attrArn),
      permissions: permissions(ANALYSIS_ACTIONS),
    });
  }

  databaseArn(): string {
    return `arn:${this.stack.partition}:glue:${this.stack.region}:${this.stack.account}:database/${this.databaseName}`;
  }

  tableArn(): string {
    return `arn:${this.stack.partition}:glue:${this.stack.region}:${this.stack.account}:table/${this.databaseName}/${this.tableName}`;
  }

  /** The reporter's BI refresh (services/reporter/src/bi-refresh.ts): register `dt`, start an ingestion. */
  grantRefresh(role: iam.IRole): void {
    const { partition, region, account } = this.stack;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetTable', 'glue:BatchCreatePartition', 'glue:CreatePartition', 'glue:GetPartition'],
        resources: [
          `arn:${partition}:glue:${region}:${account}:catalog`,
          this.databaseArn(),
          this.tableArn(),
        ],
      }),
    );
    const dataSetArn = `arn:${partition}:quicksight:${region}:${account}:dataset/${this.dataSet.dataSetId}`;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['quicksight:CreateIngestion', 'quicksight:DescribeIngestion'],
        resources: [dataSetArn, `${dataSetArn}/ingestion/*`],
      }),
    );
  }
}

/**
 * Technical document §4.3, as far as an analysis definition goes: the KPI, the pie by type, bars by
 * severity, the top 10 suppliers, the 30-day trend and the divergence table. The divergence *rate*
 * needs the day's total lines, which the divergences table does not hold (it is in summary.json).
 */
function overviewDefinition(dataSetArn: string): quicksight.CfnAnalysis.AnalysisDefinitionProperty {
  const ds = 'divergencias';
  const column = (columnName: string) => ({ dataSetIdentifier: ds, columnName });
  const count = (fieldId: string) => ({
    categoricalMeasureField: { fieldId, column: column('ordem_id'), aggregationFunction: 'COUNT' },
  });
  const category = (fieldId: string, columnName: string) => ({
    categoricalDimensionField: { fieldId, column: column(columnName) },
  });
  const title = (text: string) => ({ visibility: 'VISIBLE', formatText: { plainText: text } });

  return {
    dataSetIdentifierDeclarations: [{ identifier: ds, dataSetArn }],
    sheets: [
      {
        sheetId: 'visao-geral',
        name: 'Visão Geral',
        visuals: [
          {
            kpiVisual: {
              visualId: 'total',
              title: title('Total de divergências'),
              chartConfiguration: { fieldWells: { values: [count('total-count')] } },
            },
          },
          {
            pieChartVisual: {
              visualId: 'por-tipo',
              title: title('Divergências por tipo'),
              chartConfiguration: {
                fieldWells: {
                  pieChartAggregatedFieldWells: {
                    category: [category('tipo', 'tipo_divergencia')],
                    values: [count('tipo-count')],
                  },
                },
              },
            },
          },
          {
            barChartVisual: {
              visualId: 'por-severidade',
              title: title('Divergências por severidade'),
              chartConfiguration: {
                orientation: 'VERTICAL',
                fieldWells: {
                  barChartAggregatedFieldWells: {
                    category: [category('severidade', 'severidade')],
                    values: [count('severidade-count')],
                  },
                },
              },
            },
          },
          {
            barChartVisual: {
              visualId: 'top-fornecedores',
              title: title('Top 10 fornecedores'),
              chartConfiguration: {
                orientation: 'HORIZONTAL',
                fieldWells: {
                  barChartAggregatedFieldWells: {
                    category: [category('fornecedor', 'fornecedor_id')],
                    values: [count('fornecedor-count')],
                  },
                },
                sortConfiguration: {
                  categorySort: [{ fieldSort: { fieldId: 'fornecedor-count', direction: 'DESC' } }],
                  categoryItemsLimit: { itemsLimit: 10, otherCategories: 'EXCLUDE' },
                },
              },
            },
          },
          {
            lineChartVisual: {
              visualId: 'tendencia',
              title: title('Tendência (últimos 30 dias)'),
              chartConfiguration: {
                fieldWells: {
                  lineChartAggregatedFieldWells: {
                    category: [
                      {
                        dateDimensionField: {
                          fieldId: 'dia',
                          column: column('data'),
                          dateGranularity: 'DAY',
                        },
                      },
                    ],
                    values: [count('dia-count')],
                  },
                },
              },
            },
          },
          {
            tableVisual: {
              visualId: 'tabela',
              title: title('Divergências'),
              chartConfiguration: {
                fieldWells: {
                  tableUnaggregatedFieldWells: {
                    values: [
                      'fornecedor_id',
                      'ordem_id',
                      'tipo_divergencia',
                      'detalhes',
                      'severidade',
                      'data',
                    ].map((name) => ({ fieldId: `tabela-${name}`, column: column(name) })),
                  },
                },
              },
            },
          },
        ],
      },
    ],
    filterGroups: [
      {
        filterGroupId: 'ultimos-30-dias',
        crossDataset: 'SINGLE_DATASET',
        status: 'ENABLED',
        scopeConfiguration: {
          selectedSheets: {
            sheetVisualScopingConfigurations: [
              { sheetId: 'visao-geral', scope: 'SELECTED_VISUALS', visualIds: ['tendencia'] },
            ],
          },
        },
        filters: [
          {
            relativeDatesFilter: {
              filterId: 'data-30-dias',
              column: column('data'),
              anchorDateConfiguration: { anchorOption: 'NOW' },
              timeGranularity: 'DAY',
              relativeDateType: 'LAST',
              relativeDateValue: 30,
              nullOption: 'NON_NULLS_ONLY',
            },
          },
        ],
      },
    ],
  };
}
