/** Real PostgreSQL, MariaDB, Redis and RabbitMQ servers for the data-span tests; shared with the benchmark. */
export { startMariaDb, startPostgres, startRabbitMq, startRedis, type DatabaseServer } from '../../bench/servers.js';
