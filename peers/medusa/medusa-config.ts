// Minimal Medusa v2 configuration for channelhub's peer tests: local PostgreSQL,
// no Redis (in-memory event bus and locking), no admin dashboard, loopback only.
import { defineConfig, loadEnv } from "@medusajs/framework/utils"

loadEnv(process.env.NODE_ENV || "development", process.cwd())

const cors = "http://127.0.0.1"

module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    http: {
      storeCors: process.env.STORE_CORS || cors,
      adminCors: process.env.ADMIN_CORS || cors,
      authCors: process.env.AUTH_CORS || cors,
      jwtSecret: process.env.JWT_SECRET || "channelhub-peer-jwt",
      cookieSecret: process.env.COOKIE_SECRET || "channelhub-peer-cookie",
    },
  },
  admin: {
    disable: true,
  },
})
