import { bootstrap } from '../shared/bootstrap.js';
import { CandidatePortalModule } from './app.module.js';

await bootstrap('candidate-portal', CandidatePortalModule, 3000);
