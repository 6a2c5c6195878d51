// Run once by the mongo-init service (mongosh --nodb --file …), and safe to run again:
// initiates the one-member replica set rs0 (transactions and change streams need a replica
// set), then creates the platform's user with readWrite on the databases of BUS_NAMESPACE
// "esim" only. Passwords are read from the secret files, never passed on a command line.
const fs = require("fs");
const secret = (name) => fs.readFileSync(`/run/secrets/${name}`, "utf8").trim();
const SERVICES = ["accounts", "provisioning", "logs", "privacy", "gateway"];

const conn = new Mongo("mongodb://mongo:27017/?directConnection=true");
const admin = conn.getDB("admin");
admin.auth("root", secret("mongo_root_password"));

function replicaSetInitiated() {
  try {
    return admin.runCommand({ replSetGetStatus: 1 }).ok === 1;
  } catch (error) {
    return false; // NotYetInitialized
  }
}

if (!replicaSetInitiated()) {
  print("initiating replica set rs0");
  admin.runCommand({
    replSetInitiate: { _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] },
  });
}

for (let attempt = 0; attempt < 60; attempt++) {
  if (admin.runCommand({ hello: 1 }).isWritablePrimary) break;
  sleep(1000);
}

const roles = SERVICES.map((service) => ({ role: "readWrite", db: `esim_${service}` }));
const password = secret("mongo_app_password");
if (admin.getUser("esim") === null) {
  admin.createUser({ user: "esim", pwd: password, roles });
  print("created user esim");
} else {
  admin.updateUser("esim", { pwd: password, roles });
  print("updated user esim");
}
