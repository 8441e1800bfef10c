import './instrument'; // must stay first
import { runService } from '@ticketing/service-runtime';
import { catalogService } from './catalog.service';

runService(catalogService);
